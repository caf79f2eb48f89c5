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
   * Generates a new key pair inside the HSM for {@link HsmSigner}: the private key a token object, sensitive, not
   * extractable, allowed only to sign; the public key a token object allowed only to verify; both under this label and
   * one random CKA_ID. Fails with ALREADY_EXISTS when a key with this label is already on the token.
   */
  HsmKeyId generateKeyPair(String label, KeyPairAlgorithm algorithm);

  /** Finds the key pair named by this id; FAILED_PRECONDITION when the token no longer holds it. */
  HsmSigner signer(HsmKeyId id);

  /**
   * Deletes the AES key or the key pair (both halves) named by this id from the token (a trimmed key version, a
   * deleted key): what it encrypted can no longer be decrypted, nothing more is signed with it. NOT_FOUND when the
   * token holds no such key; never deletes a KEK.
   */
  void destroyKey(HsmKeyId id);

  /**
   * Whether the HSM answers right now. Cheap: it reports what the last calls and the reconnect attempts found and never
   * calls the HSM itself, so health checks may ask it as often as they like.
   */
  default HsmHealth health() {
    return HsmHealth.REACHABLE;
  }

  /** Logs out and closes every session. Idempotent. */
  @Override
  void close();
}
