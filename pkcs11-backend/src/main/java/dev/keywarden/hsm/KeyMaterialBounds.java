package dev.keywarden.hsm;

import dev.keywarden.failure.KeywardenException;

/** The sizes a {@link KeyEncryptionKey} accepts, shared by every implementation so they reject the same inputs. */
public final class KeyMaterialBounds {

  /** Smallest key material a KEK wraps. */
  public static final int MIN_BYTES = 1;

  /** Largest key material a KEK wraps: room for any RSA-8192 private key in PKCS#8. */
  public static final int MAX_BYTES = 4096;

  /** RFC 5649 output: the 8-byte integrity block plus the input padded to a multiple of 8. */
  public static final int MIN_WRAPPED_BYTES = 16;

  /** Largest wrapped blob: {@link #MAX_BYTES} plus one block of framing (see the PKCS#11 padding-defect framing). */
  public static final int MAX_WRAPPED_BYTES = 8 + MAX_BYTES + 8;

  private KeyMaterialBounds() {}

  /** INVALID_ARGUMENT unless {@code keyMaterial} holds 1 to 4096 bytes. */
  public static void requireWrappable(byte[] keyMaterial) {
    if (keyMaterial == null || keyMaterial.length < MIN_BYTES || keyMaterial.length > MAX_BYTES) {
      throw KeywardenException.invalid("key material to wrap must be " + MIN_BYTES + " to " + MAX_BYTES
          + " bytes, got " + (keyMaterial == null ? "none" : keyMaterial.length));
    }
  }

  /** INVALID_ARGUMENT for a missing blob; the integrity failure for one no RFC 5649 wrap of 1..4096 bytes can have. */
  public static void requireUnwrappable(byte[] wrapped) {
    if (wrapped == null) {
      throw KeywardenException.invalid("wrapped key is missing");
    }
    if (wrapped.length < MIN_WRAPPED_BYTES || wrapped.length > MAX_WRAPPED_BYTES || wrapped.length % 8 != 0) {
      throw integrityFailure(null);
    }
  }

  /** The one failure every KEK reports for a blob that does not unwrap: the causes are indistinguishable on purpose. */
  public static KeywardenException integrityFailure(Throwable cause) {
    return new KeywardenException(KeywardenException.Kind.FAILED_PRECONDITION,
        "wrapped key failed its integrity check (altered, or wrapped by another KEK)", cause);
  }
}
