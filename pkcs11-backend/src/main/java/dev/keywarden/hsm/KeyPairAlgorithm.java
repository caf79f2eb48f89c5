package dev.keywarden.hsm;

/** The asymmetric key pairs an {@link Hsm} generates for signing (CA keys, signing keys). */
public enum KeyPairAlgorithm {
  /** ECDSA over NIST P-256 (secp256r1). */
  EC_P256(Family.EC, 256),
  /** ECDSA over NIST P-384 (secp384r1). */
  EC_P384(Family.EC, 384),
  /** EdDSA over edwards25519 (RFC 8032). */
  ED25519(Family.EDDSA, 256),
  /** RSA with a 2048-bit modulus and public exponent 65537. */
  RSA_2048(Family.RSA, 2048),
  /** RSA with a 3072-bit modulus and public exponent 65537. */
  RSA_3072(Family.RSA, 3072),
  /** RSA with a 4096-bit modulus and public exponent 65537. */
  RSA_4096(Family.RSA, 4096);

  /** What kind of key: the signature algorithms that fit a key depend only on this. */
  public enum Family {
    EC,
    EDDSA,
    RSA
  }

  private final Family family;
  private final int bits;

  KeyPairAlgorithm(Family family, int bits) {
    this.family = family;
    this.bits = bits;
  }

  /** The kind of key. */
  public Family family() {
    return family;
  }

  /** The curve's field size or the RSA modulus length, in bits. */
  public int bits() {
    return bits;
  }
}
