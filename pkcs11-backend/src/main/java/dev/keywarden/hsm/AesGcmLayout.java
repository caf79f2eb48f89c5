package dev.keywarden.hsm;

import dev.keywarden.failure.KeywardenException;

/** The byte layout every {@link HsmAead} produces and the checks they share, so they reject the same inputs. */
public final class AesGcmLayout {

  /** The random nonce (GCM IV) that leads every blob: 96 bits, the size GCM is specified for. */
  public static final int NONCE_BYTES = 12;

  /** The authentication tag that ends every blob. */
  public static final int TAG_BYTES = 16;

  /** The tag size in bits, as PKCS#11 and the JDK take it. */
  public static final int TAG_BITS = TAG_BYTES * 8;

  /** The shortest blob: the encryption of nothing. */
  public static final int MIN_BLOB_BYTES = NONCE_BYTES + TAG_BYTES;

  private static final byte[] NO_AAD = new byte[0];

  private AesGcmLayout() {}

  /** INVALID_ARGUMENT for a missing plaintext (an empty one is fine). */
  public static void requireEncryptable(byte[] plaintext) {
    if (plaintext == null) {
      throw KeywardenException.invalid("plaintext is missing");
    }
  }

  /** INVALID_ARGUMENT for a missing blob; the authentication failure for one too short to hold a nonce and a tag. */
  public static void requireDecryptable(byte[] nonceCiphertextTag) {
    if (nonceCiphertextTag == null) {
      throw KeywardenException.invalid("ciphertext is missing");
    }
    if (nonceCiphertextTag.length < MIN_BLOB_BYTES) {
      throw authenticationFailure(null);
    }
  }

  /** The associated data to authenticate: null means none, the same as empty. */
  public static byte[] aad(byte[] aad) {
    return aad == null ? NO_AAD : aad;
  }

  /** The one failure every {@link HsmAead} reports for a blob that does not decrypt. */
  public static KeywardenException authenticationFailure(Throwable cause) {
    return new KeywardenException(KeywardenException.Kind.INVALID_ARGUMENT,
        "ciphertext failed authentication (altered, truncated, wrong key or wrong context)", cause);
  }
}
