package dev.keywarden.transit.crypto;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.transit.KeyType;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Objects;

/** New key material for software key types. */
public final class KeyGeneration {

  private static final int SYMMETRIC_KEY_LENGTH = 32;

  private KeyGeneration() {
  }

  /**
   * 32 random bytes for AEAD and HMAC types; a PKCS#8 DER private key for signing types (EC P-256/P-384, Ed25519,
   * RSA 2048/3072/4096 with e = 65537). Refuses AES256_GCM96_HSM, whose keys are made inside the HSM.
   */
  public static byte[] generate(KeyType type, SecureRandom random) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(random, "random");
    if (type.inHsm()) {
      throw KeywardenException.invalid("keys of type " + type.typeName() + " are generated inside the HSM");
    }
    switch (type) {
      case AES256_GCM96:
      case CHACHA20_POLY1305:
      case HMAC: {
        byte[] key = new byte[SYMMETRIC_KEY_LENGTH];
        random.nextBytes(key);
        return key;
      }
      case ECDSA_P256:
        return keyPair("EC", new ECGenParameterSpec("secp256r1"), random);
      case ECDSA_P384:
        return keyPair("EC", new ECGenParameterSpec("secp384r1"), random);
      case ED25519:
        return keyPair("Ed25519", null, random);
      case RSA_2048:
        return keyPair("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4), random);
      case RSA_3072:
        return keyPair("RSA", new RSAKeyGenParameterSpec(3072, RSAKeyGenParameterSpec.F4), random);
      case RSA_4096:
        return keyPair("RSA", new RSAKeyGenParameterSpec(4096, RSAKeyGenParameterSpec.F4), random);
      default:
        throw KeywardenException.invalid("cannot generate keys of type " + type.typeName());
    }
  }

  private static byte[] keyPair(String algorithm, AlgorithmParameterSpec spec, SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm, BouncyCastle.PROVIDER);
      if (spec != null) {
        generator.initialize(spec, random);
      } else {
        generator.initialize(255, random);
      }
      return generator.generateKeyPair().getPrivate().getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(algorithm + " key generation failed", e);
    }
  }
}
