package dev.keywarden.transit.crypto;

import java.util.Objects;

/**
 * How to sign or verify. {@code hash}: which digest; {@code prehashed}: the input is already that digest (its length
 * must match, else INVALID_ARGUMENT). Ed25519 signs the message itself (PureEdDSA): it ignores {@code hash} and refuses
 * {@code prehashed}. RSA PSS uses MGF1 with the same hash and a salt as long as the hash. {@code encoding} applies to
 * ECDSA only, {@code rsaPadding} to RSA only.
 */
public record SignatureOptions(HashAlgorithm hash, boolean prehashed, RsaPadding rsaPadding, SignatureEncoding encoding) {

  public SignatureOptions {
    Objects.requireNonNull(hash, "hash");
    Objects.requireNonNull(rsaPadding, "rsaPadding");
    Objects.requireNonNull(encoding, "encoding");
  }

  /** SHA2_256, not prehashed, PSS, DER. */
  public static SignatureOptions defaults() {
    return new SignatureOptions(HashAlgorithm.SHA2_256, false, RsaPadding.PSS, SignatureEncoding.DER);
  }
}
