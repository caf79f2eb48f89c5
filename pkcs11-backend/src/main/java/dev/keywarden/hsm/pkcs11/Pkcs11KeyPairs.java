package dev.keywarden.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_EC_PARAMS;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_EC_POINT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_KEY_TYPE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_MODULUS;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_PUBLIC_EXPONENT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_EC;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_EC_EDWARDS;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_RSA;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_EC_EDWARDS_KEY_PAIR_GEN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_EC_KEY_PAIR_GEN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_RSA_PKCS_KEY_PAIR_GEN;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KeyPairAlgorithm;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.KeyPairTemplate;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.TokenException;

/** How each {@link KeyPairAlgorithm} is asked of a PKCS#11 token, and how its public half is read back into JCA. */
final class Pkcs11KeyPairs {

  /** DER OIDs as CKA_EC_PARAMS: the named curve, which every module takes (SoftHSM2 2.6.1 takes no curve names). */
  private static final byte[] P256 = HexFormat.of().parseHex("06082a8648ce3d030107");
  private static final byte[] P384 = HexFormat.of().parseHex("06052b81040022");
  private static final byte[] ED25519 = HexFormat.of().parseHex("06032b6570");
  /** PrintableString "edwards25519": what pkcs11-tool and older PKCS#11 3.0 drafts put there; read, never written. */
  private static final byte[] ED25519_BY_NAME = HexFormat.of().parseHex("130c656477617264733235353139");
  /** SubjectPublicKeyInfo of an Ed25519 key up to the 32 key bytes (RFC 8410). */
  private static final byte[] ED25519_SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");
  private static final BigInteger RSA_PUBLIC_EXPONENT = BigInteger.valueOf(65537);

  private Pkcs11KeyPairs() {}

  static Mechanism generation(KeyPairAlgorithm algorithm) {
    return new Mechanism(switch (algorithm.family()) {
      case EC -> CKM_EC_KEY_PAIR_GEN;
      case EDDSA -> CKM_EC_EDWARDS_KEY_PAIR_GEN;
      case RSA -> CKM_RSA_PKCS_KEY_PAIR_GEN;
    });
  }

  /**
   * The private key may only sign and never leaves the token in the clear; the public key may only verify. Both are
   * token objects under one label and CKA_ID, which is how {@link Pkcs11Hsm#signer} and destroyKey find them.
   */
  static KeyPairTemplate template(KeyPairAlgorithm algorithm, String label, byte[] id) {
    long keyType = keyType(algorithm);
    AttributeVector privateKey = AttributeVector.newPrivateKey(keyType)
        .token(true).private_(true).sensitive(true).extractable(false)
        .sign(true)
        .decrypt(false).unwrap(false).signRecover(false).derive(false)
        .label(label).id(id);
    AttributeVector publicKey = AttributeVector.newPublicKey(keyType)
        .token(true).private_(false)
        .verify(true)
        .encrypt(false).wrap(false).verifyRecover(false).derive(false)
        .label(label).id(id);
    switch (algorithm.family()) {
      case EC, EDDSA -> publicKey.ecParams(curve(algorithm));
      case RSA -> publicKey.modulusBits(algorithm.bits()).publicExponent(RSA_PUBLIC_EXPONENT);
    }
    return new KeyPairTemplate(privateKey, publicKey);
  }

  /** The key pair algorithm and JCA public key of the public key object {@code publicKey}. */
  static PublicHalf readPublicKey(PKCS11Token token, long publicKey, HsmKeyId id) throws TokenException {
    Long keyType = token.getAttrValues(publicKey, CKA_KEY_TYPE).keyType();
    if (keyType != null && keyType == CKK_RSA) {
      AttributeVector attrs = token.getAttrValues(publicKey, CKA_MODULUS, CKA_PUBLIC_EXPONENT);
      BigInteger modulus = attrs.modulus();
      KeyPairAlgorithm algorithm = switch (modulus.bitLength()) {
        case 2048 -> KeyPairAlgorithm.RSA_2048;
        case 3072 -> KeyPairAlgorithm.RSA_3072;
        case 4096 -> KeyPairAlgorithm.RSA_4096;
        default -> throw unsupported(id, "an RSA-" + modulus.bitLength() + " key");
      };
      return new PublicHalf(algorithm, jca("RSA", new RSAPublicKeySpec(modulus, attrs.publicExponent())));
    }
    if (keyType != null && (keyType == CKK_EC || keyType == CKK_EC_EDWARDS)) {
      AttributeVector attrs = token.getAttrValues(publicKey, CKA_EC_PARAMS, CKA_EC_POINT);
      byte[] params = attrs.ecParams();
      byte[] point = attrs.ecPoint();
      if (keyType == CKK_EC_EDWARDS
          && (Arrays.equals(params, ED25519) || Arrays.equals(params, ED25519_BY_NAME))) {
        byte[] raw = unwrapOctetString(point, 32);
        byte[] spki = Arrays.copyOf(ED25519_SPKI_PREFIX, ED25519_SPKI_PREFIX.length + raw.length);
        System.arraycopy(raw, 0, spki, ED25519_SPKI_PREFIX.length, raw.length);
        return new PublicHalf(KeyPairAlgorithm.ED25519, jca("Ed25519", new X509EncodedKeySpec(spki)));
      }
      if (keyType == CKK_EC && (Arrays.equals(params, P256) || Arrays.equals(params, P384))) {
        KeyPairAlgorithm algorithm = Arrays.equals(params, P256) ? KeyPairAlgorithm.EC_P256 : KeyPairAlgorithm.EC_P384;
        int fieldBytes = algorithm.bits() / 8;
        byte[] uncompressed = unwrapOctetString(point, 1 + 2 * fieldBytes);
        if (uncompressed[0] != 0x04) {
          throw unsupported(id, "an EC point that is not uncompressed");
        }
        ECPoint w = new ECPoint(new BigInteger(1, Arrays.copyOfRange(uncompressed, 1, 1 + fieldBytes)),
            new BigInteger(1, Arrays.copyOfRange(uncompressed, 1 + fieldBytes, uncompressed.length)));
        return new PublicHalf(algorithm, jca("EC", new ECPublicKeySpec(w, ecParameters(algorithm))));
      }
      throw unsupported(id, "a key on a curve Keywarden does not sign with");
    }
    throw unsupported(id, "a key of type " + keyType);
  }

  /** The key pair algorithm and the JCA public key read from the token. */
  record PublicHalf(KeyPairAlgorithm algorithm, PublicKey key) {}

  private static long keyType(KeyPairAlgorithm algorithm) {
    return switch (algorithm.family()) {
      case EC -> CKK_EC;
      case EDDSA -> CKK_EC_EDWARDS;
      case RSA -> CKK_RSA;
    };
  }

  private static byte[] curve(KeyPairAlgorithm algorithm) {
    return switch (algorithm) {
      case EC_P256 -> P256.clone();
      case EC_P384 -> P384.clone();
      case ED25519 -> ED25519.clone();
      default -> throw new IllegalArgumentException(algorithm + " has no curve");
    };
  }

  /**
   * CKA_EC_POINT is specified as a DER OCTET STRING around the point, but some modules (and some versions of SoftHSM2
   * for Edwards keys) return the bare point: both are taken, told apart by their length.
   */
  private static byte[] unwrapOctetString(byte[] value, int pointBytes) {
    if (value != null && value.length == pointBytes) {
      return value;
    }
    if (value != null && value.length == pointBytes + 2 && value[0] == 0x04 && (value[1] & 0xff) == pointBytes
        && pointBytes < 128) {
      return Arrays.copyOfRange(value, 2, value.length);
    }
    throw KeywardenException.unavailable("the token returned a CKA_EC_POINT of "
        + (value == null ? "no" : value.length) + " bytes for a " + pointBytes + "-byte point", null);
  }

  static ECParameterSpec ecParameters(KeyPairAlgorithm algorithm) {
    try {
      AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
      params.init(new ECGenParameterSpec(algorithm == KeyPairAlgorithm.EC_P256 ? "secp256r1" : "secp384r1"));
      return params.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK does not know the curve of " + algorithm, e);
    }
  }

  private static PublicKey jca(String algorithm, java.security.spec.KeySpec spec) {
    try {
      return KeyFactory.getInstance(algorithm).generatePublic(spec);
    } catch (GeneralSecurityException e) {
      throw KeywardenException.unavailable("the token returned a public key the JDK refuses as " + algorithm, e);
    }
  }

  private static KeywardenException unsupported(HsmKeyId id, String what) {
    return KeywardenException.precondition("key '" + id.label() + "' (id " + id.idHex() + ") on the token is "
        + what + ", which Keywarden does not sign with");
  }
}
