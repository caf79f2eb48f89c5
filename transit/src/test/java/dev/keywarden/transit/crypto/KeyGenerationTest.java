package dev.keywarden.transit.crypto;

import static dev.keywarden.transit.crypto.SignaturesTest.assertInvalid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.transit.KeyType;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KeyGenerationTest {

  private static final SecureRandom RANDOM = new SecureRandom();

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"AES256_GCM96", "CHACHA20_POLY1305", "HMAC"})
  void symmetricKeysAre32FreshRandomBytes(KeyType type) {
    byte[] a = KeyGeneration.generate(type, RANDOM);
    byte[] b = KeyGeneration.generate(type, RANDOM);
    assertEquals(32, a.length);
    assertFalse(Arrays.equals(a, b));
  }

  @Test
  void hsmKeysAreRefused() {
    assertInvalid(() -> KeyGeneration.generate(KeyType.AES256_GCM96_HSM, RANDOM));
  }

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"ECDSA_P256", "ECDSA_P384"})
  void ecKeysArePkcs8OnTheirCurveAndReadableByTheJdk(KeyType type) throws Exception {
    ECPrivateKey key = (ECPrivateKey) KeyFactory.getInstance("EC")
        .generatePrivate(new PKCS8EncodedKeySpec(KeyGeneration.generate(type, RANDOM)));
    assertEquals(type == KeyType.ECDSA_P256 ? 256 : 384, key.getParams().getOrder().bitLength());
  }

  @Test
  void ed25519KeysArePkcs8ReadableByTheJdk() throws Exception {
    assertEquals("EdDSA", KeyFactory.getInstance("Ed25519")
        .generatePrivate(new PKCS8EncodedKeySpec(KeyGeneration.generate(KeyType.ED25519, RANDOM))).getAlgorithm());
  }

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"RSA_2048", "RSA_3072"})
  void rsaKeysHaveTheirSizeAndExponent65537(KeyType type) throws Exception {
    RSAPrivateCrtKey key = (RSAPrivateCrtKey) KeyFactory.getInstance("RSA")
        .generatePrivate(new PKCS8EncodedKeySpec(KeyGeneration.generate(type, RANDOM)));
    assertEquals(type == KeyType.RSA_2048 ? 2048 : 3072, key.getModulus().bitLength());
    assertEquals(BigInteger.valueOf(65537), key.getPublicExponent());
    assertTrue(Signatures.signingKey(type, key.getEncoded()) != null);
  }
}
