package dev.keywarden.hsm;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import java.security.SecureRandom;
import java.security.Signature;
import org.junit.jupiter.api.Test;

/** One key-type vocabulary: the PKI's names, transit's aliases, and what each type makes and signs with. */
class KeyTypeTest {

  @Test
  void transitStyleNamesAreAliasesOfTheCanonicalOnes() {
    assertEquals(KeyType.EC_P256, KeyType.parse("ecdsa-p256"));
    assertEquals(KeyType.EC_P384, KeyType.parse("ecdsa-p384"));
    assertEquals(KeyType.EC_P256, KeyType.parse("ec-p256"));
    assertEquals("ec-p256", KeyType.parse("ecdsa-p256").typeName(), "the canonical name is what is written back");
  }

  @Test
  void unknownNamesListTheKnownOnes() {
    KeywardenException e = assertThrows(KeywardenException.class, () -> KeyType.parse("dsa-1024"));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains("ed25519") && e.getMessage().contains("rsa-4096"), e.getMessage());
  }

  @Test
  void everyTypeMakesASoftwareKeyThatItsSignatureAlgorithmVerifies() throws Exception {
    SecureRandom random = new SecureRandom();
    for (KeyType t : new KeyType[] {KeyType.EC_P256, KeyType.EC_P384, KeyType.ED25519, KeyType.RSA_2048}) {
      var pair = t.newSoftwareKeyPair(random);
      assertTrue(t.signatureAlgorithm().fits(t.algorithm()), t.typeName());
      assertEquals(t, KeyType.of(t.algorithm()));
      Signature s = t.signatureAlgorithm().newJdkSignature();
      s.initSign(pair.getPrivate());
      s.update(new byte[] {1, 2, 3});
      byte[] sig = s.sign();
      s.initVerify(pair.getPublic());
      s.update(new byte[] {1, 2, 3});
      assertTrue(s.verify(sig), t.typeName());
    }
  }
}
