package dev.keywarden.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKG_MGF1_SHA256;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKG_MGF1_SHA384;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKG_MGF1_SHA512;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_ECDSA;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_EDDSA;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA256;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA256_RSA_PKCS;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA256_RSA_PKCS_PSS;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA384;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA384_RSA_PKCS;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA384_RSA_PKCS_PSS;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA512;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA512_RSA_PKCS;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA512_RSA_PKCS_PSS;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.io.IOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.Arrays;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERSequence;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.TokenException;
import org.xipki.pkcs11.wrapper.params.RSA_PKCS_PSS_PARAMS;

/**
 * A private key held by a PKCS#11 token, signing inside the token. ECDSA is hashed here and signed with raw
 * CKM_ECDSA (every module has it; the hashing variants are often missing), and its r || s becomes DER; Ed25519 is
 * CKM_EDDSA over the message; RSA uses the token's hash-and-sign mechanisms.
 */
final class Pkcs11Signer implements HsmSigner {

  private final Pkcs11Hsm hsm;
  private final HsmKeyId id;
  private final KeyPairAlgorithm algorithm;
  private final PublicKey publicKey;
  private final KeyHandle handle;

  Pkcs11Signer(Pkcs11Hsm hsm, HsmKeyId id, KeyPairAlgorithm algorithm, PublicKey publicKey, KeyHandle handle) {
    this.hsm = hsm;
    this.id = id;
    this.algorithm = algorithm;
    this.publicKey = publicKey;
    this.handle = handle;
  }

  @Override
  public HsmKeyId id() {
    return id;
  }

  @Override
  public KeyPairAlgorithm algorithm() {
    return algorithm;
  }

  @Override
  public PublicKey publicKey() {
    return publicKey;
  }

  @Override
  public byte[] sign(SignatureAlgorithm signature, byte[] message) {
    SignatureAlgorithm.requireSignable(id, algorithm, signature, message);
    return hsm.call("signing " + signature + " with key '" + id.label() + "'",
        (token, generation) -> signUnder(token, handle.get(token, generation), algorithm, signature, message));
  }

  @Override
  public String toString() {
    return "Pkcs11Signer[" + id.label() + ", id " + id.idHex() + ", " + algorithm + "]";
  }

  /** The JCA-format {@code signature} of {@code message} by the private key {@code key} of {@code algorithm}. */
  static byte[] signUnder(PKCS11Token token, long key, KeyPairAlgorithm algorithm, SignatureAlgorithm signature,
      byte[] message) throws TokenException {
    return switch (algorithm.family()) {
      case EC -> {
        byte[] rs = token.sign(new Mechanism(CKM_ECDSA), key, digest(signature, message));
        yield derEcdsa(rs, algorithm.bits() / 8);
      }
      case EDDSA -> token.sign(new Mechanism(CKM_EDDSA), key, message);
      case RSA -> token.sign(rsa(signature), key, message);
    };
  }

  private static Mechanism rsa(SignatureAlgorithm signature) {
    return switch (signature) {
      case RSA_PKCS1_SHA256 -> new Mechanism(CKM_SHA256_RSA_PKCS);
      case RSA_PKCS1_SHA384 -> new Mechanism(CKM_SHA384_RSA_PKCS);
      case RSA_PKCS1_SHA512 -> new Mechanism(CKM_SHA512_RSA_PKCS);
      case RSA_PSS_SHA256 -> new Mechanism(CKM_SHA256_RSA_PKCS_PSS,
          new RSA_PKCS_PSS_PARAMS(CKM_SHA256, CKG_MGF1_SHA256, signature.digestBytes()));
      case RSA_PSS_SHA384 -> new Mechanism(CKM_SHA384_RSA_PKCS_PSS,
          new RSA_PKCS_PSS_PARAMS(CKM_SHA384, CKG_MGF1_SHA384, signature.digestBytes()));
      case RSA_PSS_SHA512 -> new Mechanism(CKM_SHA512_RSA_PKCS_PSS,
          new RSA_PKCS_PSS_PARAMS(CKM_SHA512, CKG_MGF1_SHA512, signature.digestBytes()));
      default -> throw new IllegalArgumentException(signature + " is not an RSA signature");
    };
  }

  private static byte[] digest(SignatureAlgorithm signature, byte[] message) {
    try {
      return MessageDigest.getInstance(signature.digest()).digest(message);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(signature.digest() + " is missing from this JDK", e);
    }
  }

  /** CKM_ECDSA returns r || s, each as long as the field; JCA (and X.509) want DER SEQUENCE { INTEGER r, INTEGER s }. */
  static byte[] derEcdsa(byte[] rs, int fieldBytes) {
    if (rs.length != 2 * fieldBytes) {
      throw KeywardenException.unavailable("CKM_ECDSA returned " + rs.length + " bytes, expected "
          + 2 * fieldBytes, null);
    }
    BigInteger r = new BigInteger(1, Arrays.copyOf(rs, fieldBytes));
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(rs, fieldBytes, rs.length));
    try {
      return new DERSequence(new ASN1Encodable[] {new ASN1Integer(r), new ASN1Integer(s)})
          .getEncoded(ASN1Encoding.DER);
    } catch (IOException e) {
      throw new IllegalStateException("DER encoding in memory does not fail", e);
    }
  }

}
