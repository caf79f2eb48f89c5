package dev.keywarden.hsm;

/**
 * An opened, logged-in HSM. Closing it logs out and closes every session; keys found through it stop working.
 */
public interface Hsm extends AutoCloseable {

  /** What this HSM is, for status output: never holds the PIN. */
  HsmInfo info();

  /**
   * Generates a new AES-256 key-encryption key inside the HSM: a token object, sensitive, not extractable, allowed only
   * to wrap and unwrap. Fails with ALREADY_EXISTS when a key with this label is already on the token.
   */
  KekIdentity generateKek(String label);

  /** Finds the KEK named by this identity; NOT_FOUND (FAILED_PRECONDITION kind) when the token no longer holds it. */
  KeyEncryptionKey kek(KekIdentity identity);

  /**
   * Generates a new AES-256 key inside the HSM for {@link HsmAead}: a token object, sensitive, not extractable, allowed
   * only to encrypt and decrypt. Fails with ALREADY_EXISTS when a key with this label is already on the token.
   */
  HsmKeyId generateAesKey(String label);

  /** Finds the AES key named by this id; FAILED_PRECONDITION when the token no longer holds it. */
  HsmAead aesKey(HsmKeyId id);

  /**
   * Deletes the AES key named by this id from the token (a trimmed key version, a deleted key): what it encrypted can
   * no longer be decrypted. NOT_FOUND when the token holds no such key; never deletes a KEK.
   */
  void destroyKey(HsmKeyId id);

  /** Logs out and closes every session. Idempotent. */
  @Override
  void close();
}
