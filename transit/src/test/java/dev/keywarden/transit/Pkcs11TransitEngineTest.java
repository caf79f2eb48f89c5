package dev.keywarden.transit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.pkcs11.Pkcs11HsmProvider;
import dev.keywarden.hsm.testing.SoftHsmToken;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Transit over a real SoftHSM2 token (KEK wrap/unwrap, and the -hsm type). */
class Pkcs11TransitEngineTest extends TransitEngineContract {
  private SoftHsmToken token;
  private Pkcs11HsmProvider provider;

  @Override
  HsmProvider provider() {
    if (provider == null) {
      token = SoftHsmToken.create();
      provider = token.provider(8);
    }
    return provider;
  }

  @Override
  char[] pin() {
    return token.pin();
  }

  @Test
  void hsmKeysLiveOnTheTokenAndTrimmingDestroysThem() {
    transit.createKey("h", KeyType.AES256_GCM96_HSM, PLAIN);
    String v1 = transit.encrypt("h", "secret".getBytes(UTF_8), "ctx".getBytes(UTF_8));
    assertEquals("secret", new String(transit.decrypt("h", v1, "ctx".getBytes(UTF_8)), UTF_8));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.decrypt("h", v1, "other".getBytes(UTF_8))));
    KeyVersion first = transit.getKey("h").version(1);
    assertNull(first.wrapped(), "no key material leaves the HSM");
    String objects = token.run(List.of("pkcs11-tool", "--module", token.library().toString(), "--token-label",
        token.label(), "--login", "--pin", new String(token.pin()), "--list-objects", "--type", "secrkey"));
    assertTrue(objects.contains(first.hsmLabel()), objects);

    transit.rotate("h");
    String v2 = transit.rewrap("h", v1, "ctx".getBytes(UTF_8));
    assertTrue(v2.startsWith("kw:v2:"));
    transit.updateConfig("h", new TransitEngine.ConfigChange(2, null, null, null));
    transit.trim("h");
    HsmKeyId gone = new HsmKeyId(first.hsmLabel(), first.hsmId());
    assertEquals(Kind.FAILED_PRECONDITION, kind(() -> core.unsealed().hsm().aesKey(gone)), "trim destroyed v1's key");
    restart();
    assertEquals("secret", new String(transit.decrypt("h", v2, "ctx".getBytes(UTF_8)), UTF_8));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.createKey("hd", KeyType.AES256_GCM96_HSM,
        new KeyringConfig(true, false, false, 0, 1, 1))), "derived needs key bytes");
  }
}
