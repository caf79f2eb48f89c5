package dev.keywarden.transit;

import dev.keywarden.failure.Inputs;

/**
 * Every size limit of transit, checked in one place by every operation that takes the field, so nothing one operation
 * accepts is refused by its inverse (a ciphertext encrypt made is always one decrypt and rewrap take).
 */
public final class TransitLimits {
  /** Largest plaintext (or input to sign/HMAC) per item. */
  public static final int MAX_INPUT_BYTES = 1 << 20;
  /** Largest context (associated data, or key-derivation context) per item. */
  public static final int MAX_CONTEXT_BYTES = 64 << 10;
  /**
   * Longest ciphertext, signature or HMAC text per item: what encrypting {@link #MAX_INPUT_BYTES} makes
   * ("kw:v" + a version of up to 10 digits + ":" + base64 of nonce, ciphertext and tag), so it is never refused.
   */
  public static final int MAX_CIPHERTEXT_CHARS = 4 + 10 + 1 + 4 * ((12 + MAX_INPUT_BYTES + 16 + 2) / 3);
  /** Items per batch call. */
  public static final int MAX_BATCH_ITEMS = 10_000;
  /**
   * Plaintext and context bytes per encrypt call, all items together: small enough that decrypting or rewrapping
   * every ciphertext it returns fits in one request message (base64 adds a third).
   */
  public static final int MAX_BATCH_PLAINTEXT_BYTES = 16 << 20;

  private TransitLimits() {}

  /** A plaintext or an input to sign or HMAC. */
  public static byte[] input(String field, byte[] value) {
    return Inputs.maxBytes(field, value, MAX_INPUT_BYTES);
  }

  /** A context (null means none). */
  public static byte[] context(byte[] value) {
    return Inputs.maxBytes("context", value, MAX_CONTEXT_BYTES);
  }

  /** The size of a ciphertext, signature or HMAC text, before it is read. */
  public static void ciphertext(String field, int length) {
    if (length > MAX_CIPHERTEXT_CHARS) {
      throw dev.keywarden.failure.KeywardenException.invalid(field + " is " + length + " characters; the longest "
          + "Keywarden makes is " + MAX_CIPHERTEXT_CHARS);
    }
  }
}
