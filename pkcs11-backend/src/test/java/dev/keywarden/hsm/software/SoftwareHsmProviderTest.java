package dev.keywarden.hsm.software;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmInfo;
import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SoftwareHsmProviderTest {

  @Test
  void newPinIs43CharactersOfBase64UrlAndFreshEachTime() {
    SoftwareHsmProvider provider = new SoftwareHsmProvider();
    char[] a = provider.newPin();
    char[] b = provider.newPin();
    assertEquals(43, a.length);
    assertTrue(new String(a).matches("[A-Za-z0-9_-]{43}"), "base64url without padding");
    assertFalse(Arrays.equals(a, b));
    assertTrue(provider.generatesOwnPin());
  }

  @Test
  void describesItselfAsSoftware() {
    assertEquals(new HsmInfo("software", "software", "software"), new SoftwareHsmProvider().describe());
  }

  @Test
  void theSameSecretDerivesTheSameKekInANewProvider() {
    char[] pin = new SoftwareHsmProvider().newPin();
    byte[] material = {1, 2, 3, 4, 5};
    byte[] wrapped;
    KekIdentity identity;
    try (Hsm hsm = new SoftwareHsmProvider().open(pin.clone())) {
      identity = hsm.generateKek("restart");
      wrapped = hsm.kek(identity).wrap(material);
    }
    try (Hsm hsm = new SoftwareHsmProvider().open(pin.clone())) {
      KeyEncryptionKey kek = hsm.kek(identity);
      assertArrayEquals(material, kek.unwrap(wrapped));
    }
  }

  @Test
  void anotherSecretCannotUnwrap() {
    SoftwareHsmProvider provider = new SoftwareHsmProvider();
    byte[] wrapped;
    KekIdentity identity;
    try (Hsm hsm = provider.open(provider.newPin())) {
      identity = hsm.generateKek("mine");
      wrapped = hsm.kek(identity).wrap(new byte[] {9, 9, 9});
    }
    try (Hsm hsm = provider.open(provider.newPin())) {
      KeyEncryptionKey kek = hsm.kek(identity);
      KeywardenException e = assertThrows(KeywardenException.class, () -> kek.unwrap(wrapped));
      assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    }
  }
}
