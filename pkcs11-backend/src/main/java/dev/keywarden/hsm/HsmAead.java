package dev.keywarden.hsm;

/**
 * AES-256-GCM with a key that stays in the HSM. The output is standard AES-GCM laid out as
 * nonce (12 bytes) || ciphertext || tag (16 bytes), see {@link AesGcmLayout}; the nonce is random and fresh for every
 * call. Implementations are safe for concurrent use.
 */
public interface HsmAead {

  /** Encrypts {@code plaintext} (may be empty) bound to {@code aad} (null or empty for none). */
  byte[] encrypt(byte[] plaintext, byte[] aad);

  /**
   * Decrypts what {@link #encrypt} produced with the same {@code aad}. A blob that was altered or truncated, made by
   * another key or with other {@code aad} fails with {@link dev.keywarden.failure.KeywardenException} of kind
   * INVALID_ARGUMENT; the causes are indistinguishable on purpose.
   */
  byte[] decrypt(byte[] nonceCiphertextTag, byte[] aad);

  /** The key this primitive uses. */
  HsmKeyId id();
}
