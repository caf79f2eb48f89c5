package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.pkcs11.Pkcs11HsmProvider;
import dev.keywarden.hsm.testing.SoftHsmToken;
import org.junit.jupiter.api.Test;

/** The seal state machine over a real SoftHSM2 token. */
class Pkcs11CoreTest extends CoreContract {
  private SoftHsmToken token;
  private Pkcs11HsmProvider provider;

  @Override
  HsmProvider provider() {
    if (provider == null) {
      // a fresh token per test: KEK labels and objects never leak between tests
      token = SoftHsmToken.create();
      provider = token.provider(4);
    }
    return provider;
  }

  @Override
  char[] pin() {
    return token.pin();
  }

  @Test
  void aPinTheHsmRefusesFailsInitAndWritesNothing() {
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> core.initialize(1, 1, "wrong-pin".toCharArray(), false, (tx, kek) -> "t"));
    assertEquals(KeywardenException.Kind.UNAUTHENTICATED, e.kind());
    assertTrue(storage.list("").isEmpty());
  }

  @Test
  void initWithoutAPinIsAnInvalidArgument() {
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT,
        kindOf(() -> core.initialize(1, 1, new char[0], false, (tx, kek) -> "t")));
  }
}
