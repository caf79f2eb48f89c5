package dev.keywarden.audit;

import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.security.PublicKey;

/** Signs checkpoints: the audit signing key, in the HSM in the server (a software key only in tests). */
interface CheckpointSigner {

  /** The public key verifiers get. */
  PublicKey publicKey();

  /** Signs {@code message} with the signature algorithm that fits the key. */
  byte[] sign(byte[] message);

  /** A signer over the audit key pair in the HSM. */
  static CheckpointSigner of(HsmSigner signer) {
    SignatureAlgorithm alg = signer.algorithm() == KeyPairAlgorithm.ED25519 ? SignatureAlgorithm.ED25519
        : SignatureAlgorithm.ECDSA_SHA256;
    return new CheckpointSigner() {
      @Override
      public PublicKey publicKey() {
        return signer.publicKey();
      }

      @Override
      public byte[] sign(byte[] message) {
        return signer.sign(alg, message);
      }
    };
  }
}
