package dev.keywarden.hsm;

import dev.keywarden.failure.KeywardenException;
import java.security.InvalidAlgorithmParameterException;
import java.security.NoSuchAlgorithmException;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;

/**
 * The signatures an {@link HsmSigner} makes, each in its standard JCA encoding: ECDSA as an ASN.1 DER
 * SEQUENCE { r, s }, Ed25519 as the 64-byte RFC 8032 signature, RSA as the big-endian integer the size of the modulus.
 * RSA-PSS uses MGF1 with the same hash and a salt as long as the hash (RFC 8017 defaults as used by X.509).
 */
public enum SignatureAlgorithm {
  ECDSA_SHA256("SHA256withECDSA", KeyPairAlgorithm.Family.EC, "SHA-256"),
  ECDSA_SHA384("SHA384withECDSA", KeyPairAlgorithm.Family.EC, "SHA-384"),
  ECDSA_SHA512("SHA512withECDSA", KeyPairAlgorithm.Family.EC, "SHA-512"),
  ED25519("Ed25519", KeyPairAlgorithm.Family.EDDSA, null),
  RSA_PKCS1_SHA256("SHA256withRSA", KeyPairAlgorithm.Family.RSA, "SHA-256"),
  RSA_PKCS1_SHA384("SHA384withRSA", KeyPairAlgorithm.Family.RSA, "SHA-384"),
  RSA_PKCS1_SHA512("SHA512withRSA", KeyPairAlgorithm.Family.RSA, "SHA-512"),
  RSA_PSS_SHA256("SHA256withRSAandMGF1", KeyPairAlgorithm.Family.RSA, "SHA-256"),
  RSA_PSS_SHA384("SHA384withRSAandMGF1", KeyPairAlgorithm.Family.RSA, "SHA-384"),
  RSA_PSS_SHA512("SHA512withRSAandMGF1", KeyPairAlgorithm.Family.RSA, "SHA-512");

  private final String jcaName;
  private final KeyPairAlgorithm.Family family;
  private final String digest;

  SignatureAlgorithm(String jcaName, KeyPairAlgorithm.Family family, String digest) {
    this.jcaName = jcaName;
    this.family = family;
    this.digest = digest;
  }

  /**
   * The standard JCA name ("SHA256withECDSA", "Ed25519", "SHA256withRSA", "SHA256withRSAandMGF1"). Bouncy Castle
   * knows every one; the JDK knows PSS only as "RSASSA-PSS" with parameters, which {@link #newJdkSignature()} sets.
   */
  public String jcaName() {
    return jcaName;
  }

  /** The key family that makes this signature. */
  public KeyPairAlgorithm.Family family() {
    return family;
  }

  /** True when this signature algorithm can be made with a key of {@code key}. */
  public boolean fits(KeyPairAlgorithm key) {
    return key != null && key.family() == family;
  }

  /** The message digest (JCA name) hashed before signing, or null for Ed25519, which signs the message itself. */
  public String digest() {
    return digest;
  }

  /** The digest length in bytes (the PSS salt length), or 0 for Ed25519. */
  public int digestBytes() {
    return digest == null ? 0 : Integer.parseInt(digest.substring("SHA-".length())) / 8;
  }

  /** True for RSA-PSS. */
  public boolean isPss() {
    return name().startsWith("RSA_PSS_");
  }

  /** PSS parameters (MGF1 with the same hash, salt the hash length, trailer 1), or null for the others. */
  public PSSParameterSpec pssParameters() {
    return isPss() ? new PSSParameterSpec(digest, "MGF1", new MGF1ParameterSpec(digest), digestBytes(), 1) : null;
  }

  /** A JDK {@link Signature} for this algorithm, with the PSS parameters set; sign or verify with it. */
  public Signature newJdkSignature() {
    try {
      if (isPss()) {
        Signature pss = Signature.getInstance("RSASSA-PSS");
        pss.setParameter(pssParameters());
        return pss;
      }
      return Signature.getInstance(jcaName);
    } catch (NoSuchAlgorithmException | InvalidAlgorithmParameterException e) {
      throw new IllegalStateException(jcaName + " is missing from this JDK", e);
    }
  }

  /**
   * INVALID_ARGUMENT naming both when {@code signature} cannot be made with the key {@code id} of {@code key}, or when
   * the algorithm or the message is missing or the message is empty. Every {@link HsmSigner} checks this first.
   *
   * <p>Empty messages are refused everywhere because PKCS#11 modules cannot be relied on to sign them: SoftHSM2 2.6.1
   * answers C_Sign of no data with CKR_ARGUMENTS_BAD, and CKM_EDDSA has no multi-part form to work around it. Nothing a
   * CA or a signing key signs (a TBSCertificate, an SSH certificate body, a digest) is empty.
   */
  public static void requireSignable(HsmKeyId id, KeyPairAlgorithm key, SignatureAlgorithm signature,
      byte[] message) {
    if (signature == null) {
      throw KeywardenException.invalid("signature algorithm is missing");
    }
    if (message == null || message.length == 0) {
      throw KeywardenException.invalid("message to sign is " + (message == null ? "missing" : "empty"));
    }
    if (!signature.fits(key)) {
      throw KeywardenException.invalid("signature algorithm " + signature + " does not fit key '" + id.label()
          + "' (id " + id.idHex() + "), which is " + key);
    }
  }
}
