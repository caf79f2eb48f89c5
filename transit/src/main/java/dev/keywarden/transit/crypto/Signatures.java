package dev.keywarden.transit.crypto;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.transit.KeyType;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Objects;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.jce.spec.ECParameterSpec;
import org.bouncycastle.jce.spec.ECPublicKeySpec;

/** Parses signing and verification keys of the signing key types. */
public final class Signatures {

  static final SecureRandom RANDOM = new SecureRandom();

  private Signatures() {
  }

  /** Parses a PKCS#8 DER private key of the given type once; the result is shared across threads. */
  public static SigningKey signingKey(KeyType type, byte[] pkcs8) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(pkcs8, "pkcs8");
    requireSigning(type);
    PrivateKey key = parsePrivate(type, pkcs8);
    try {
      switch (type) {
        case ECDSA_P256:
        case ECDSA_P384: {
          org.bouncycastle.jce.interfaces.ECPrivateKey ec = (org.bouncycastle.jce.interfaces.ECPrivateKey) key;
          ECParameterSpec params = requireCurve(type, ec.getParameters());
          PublicKey pub = keyFactory(type).generatePublic(
              new ECPublicKeySpec(params.getG().multiply(ec.getD()).normalize(), params));
          return new JcaSigningKey(type, key, pub.getEncoded(), new Ecdsa(params.getN()));
        }
        case ED25519: {
          byte[] pub = ((org.bouncycastle.jcajce.interfaces.EdDSAPrivateKey) key).getPublicKey().getEncoded();
          return new JcaSigningKey(type, key, pub, Ed25519.INSTANCE);
        }
        default: {
          RSAPrivateCrtKey rsa = (RSAPrivateCrtKey) key;
          requireModulus(type, rsa.getModulus().bitLength());
          PublicKey pub = keyFactory(type).generatePublic(
              new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
          return new JcaSigningKey(type, key, pub.getEncoded(), Rsa.INSTANCE);
        }
      }
    } catch (ClassCastException | GeneralSecurityException e) {
      throw KeywardenException.invalid("private key is not a valid " + type.typeName() + " key");
    }
  }

  /** Parses a DER SubjectPublicKeyInfo of the given type once; the result is shared across threads. */
  public static VerifyingKey verifyingKey(KeyType type, byte[] spkiDer) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(spkiDer, "spkiDer");
    requireSigning(type);
    PublicKey key;
    try {
      key = keyFactory(type).generatePublic(new X509EncodedKeySpec(spkiDer));
    } catch (GeneralSecurityException | RuntimeException e) {
      throw KeywardenException.invalid("public key is not a valid " + type.typeName() + " SubjectPublicKeyInfo");
    }
    try {
      switch (type) {
        case ECDSA_P256:
        case ECDSA_P384: {
          ECParameterSpec params = requireCurve(type,
              ((org.bouncycastle.jce.interfaces.ECPublicKey) key).getParameters());
          return new JcaVerifyingKey(type, key, new Ecdsa(params.getN()));
        }
        case ED25519:
          if (!"Ed25519".equalsIgnoreCase(key.getAlgorithm())) {
            throw mismatch(type);
          }
          return new JcaVerifyingKey(type, key, Ed25519.INSTANCE);
        default:
          requireModulus(type, ((RSAPublicKey) key).getModulus().bitLength());
          return new JcaVerifyingKey(type, key, Rsa.INSTANCE);
      }
    } catch (ClassCastException e) {
      throw mismatch(type);
    }
  }

  /** PEM armour for a DER SubjectPublicKeyInfo. */
  static String publicKeyPem(byte[] spkiDer) {
    String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(spkiDer);
    return "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----\n";
  }

  /** INVALID_ARGUMENT when a prehashed input does not have the hash's length. */
  static void requireDigestLength(byte[] input, SignatureOptions options) {
    if (options.prehashed() && input.length != options.hash().length()) {
      throw KeywardenException.invalid("prehashed input must be " + options.hash().length() + " bytes for "
          + options.hash().wireName() + ", got " + input.length);
    }
  }

  private static void requireSigning(KeyType type) {
    if (type.family() != KeyType.Family.SIGNING) {
      throw KeywardenException.invalid("key type " + type.typeName() + " does not sign");
    }
  }

  private static PrivateKey parsePrivate(KeyType type, byte[] pkcs8) {
    try {
      PrivateKey key = keyFactory(type).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
      if (type == KeyType.ED25519 && !"Ed25519".equalsIgnoreCase(key.getAlgorithm())) {
        throw mismatch(type);
      }
      return key;
    } catch (GeneralSecurityException | IllegalArgumentException | IllegalStateException e) {
      // Parser messages may quote the encoding, so they stay out of ours.
      throw KeywardenException.invalid("private key is not a valid " + type.typeName() + " PKCS#8 key");
    }
  }

  private static KeyFactory keyFactory(KeyType type) throws GeneralSecurityException {
    switch (type) {
      case ECDSA_P256:
      case ECDSA_P384:
        return KeyFactory.getInstance("EC", BouncyCastle.PROVIDER);
      case ED25519:
        return KeyFactory.getInstance("Ed25519", BouncyCastle.PROVIDER);
      default:
        return KeyFactory.getInstance("RSA", BouncyCastle.PROVIDER);
    }
  }

  private static ECParameterSpec requireCurve(KeyType type, ECParameterSpec params) {
    ECParameterSpec expected = ECNamedCurveTable.getParameterSpec(
        type == KeyType.ECDSA_P256 ? "secp256r1" : "secp384r1");
    if (params == null || !expected.getCurve().equals(params.getCurve()) || !expected.getG().equals(params.getG())
        || !expected.getN().equals(params.getN())) {
      throw mismatch(type);
    }
    return params;
  }

  private static void requireModulus(KeyType type, int bits) {
    int expected = type == KeyType.RSA_2048 ? 2048 : type == KeyType.RSA_3072 ? 3072 : 4096;
    if (bits != expected) {
      throw mismatch(type);
    }
  }

  private static KeywardenException mismatch(KeyType type) {
    return KeywardenException.invalid("key does not match key type " + type.typeName());
  }
}
