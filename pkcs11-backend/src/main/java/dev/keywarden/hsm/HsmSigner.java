package dev.keywarden.hsm;

import java.security.PublicKey;

/**
 * Signs with a private key that stays in the HSM. Signatures are in the standard JCA encoding of each
 * {@link SignatureAlgorithm}, so {@code Signature.getInstance(alg.jcaName())} verifies them with {@link #publicKey()}.
 * Implementations are safe for concurrent use.
 */
public interface HsmSigner {

  /** The key pair this signer uses. */
  HsmKeyId id();

  /** What kind of key pair it is. */
  KeyPairAlgorithm algorithm();

  /** The public half, as a plain JCA key (X.509 SubjectPublicKeyInfo from {@code getEncoded()}). */
  PublicKey publicKey();

  /**
   * Signs {@code message} (hashed as the algorithm says). INVALID_ARGUMENT for an empty or missing message, and naming
   * both when {@code algorithm} does not fit this key; FAILED_PRECONDITION when the HSM is closed or no longer holds the key.
   */
  byte[] sign(SignatureAlgorithm algorithm, byte[] message);
}
