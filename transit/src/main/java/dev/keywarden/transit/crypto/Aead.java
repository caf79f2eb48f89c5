package dev.keywarden.transit.crypto;

/**
 * Authenticated encryption with associated data over one key; thread-safe and reused for many calls.
 * Output layout: nonce (12 bytes) || ciphertext || tag (16 bytes).
 */
public interface Aead {

  /** Encrypts under a fresh random 96-bit nonce; {@code aad} may be null (= empty). */
  byte[] encrypt(byte[] plaintext, byte[] aad);

  /** Encrypts under the given 12-byte nonce; only for convergent encryption, where the nonce derives from the input. */
  byte[] encryptWithNonce(byte[] nonce12, byte[] plaintext, byte[] aad);

  /** Decrypts nonce || ciphertext || tag; any alteration, wrong key or wrong aad is INVALID_ARGUMENT. */
  byte[] decrypt(byte[] nonceCiphertextTag, byte[] aad);

  /** Zeroizes the key; the Aead must not be used after. */
  void destroy();
}
