package dev.keywarden.hsm;

/**
 * The key that wraps every key the service keeps outside the HSM (RFC 5649 AES key wrap with padding).
 * Implementations are safe for concurrent use.
 */
public interface KeyEncryptionKey {

  /** Wraps key material (1 to 4096 bytes). The caller still owns and zeroizes {@code keyMaterial}. */
  byte[] wrap(byte[] keyMaterial);

  /**
   * Unwraps what {@link #wrap} produced. A blob that was altered, or wrapped by another KEK, fails with
   * {@link dev.keywarden.failure.KeywardenException} of kind FAILED_PRECONDITION; the caller zeroizes the result.
   */
  byte[] unwrap(byte[] wrapped);

  /** The identity of this KEK. */
  KekIdentity identity();
}
