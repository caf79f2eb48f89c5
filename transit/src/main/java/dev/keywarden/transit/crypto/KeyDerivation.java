package dev.keywarden.transit.crypto;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/** Derived keys (per-context) and deterministic nonces (convergent encryption). */
public final class KeyDerivation {

  private static final byte[] DERIVE_INFO = "keywarden transit v1 derive".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONVERGENT_LABEL = "keywarden convergent v1".getBytes(StandardCharsets.US_ASCII);
  private static final int DERIVED_LENGTH = 32;

  private KeyDerivation() {
  }

  /** HKDF-SHA256 (RFC 5869): ikm = key, no salt, info = "keywarden transit v1 derive" || context; 32 bytes. */
  public static byte[] derive(byte[] key, byte[] context) {
    Objects.requireNonNull(key, "key");
    byte[] ctx = context == null ? new byte[0] : context;
    byte[] info = new byte[DERIVE_INFO.length + ctx.length];
    System.arraycopy(DERIVE_INFO, 0, info, 0, DERIVE_INFO.length);
    System.arraycopy(ctx, 0, info, DERIVE_INFO.length, ctx.length);
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    hkdf.init(new HKDFParameters(key, null, info));
    byte[] out = new byte[DERIVED_LENGTH];
    hkdf.generateBytes(out, 0, out.length);
    return out;
  }

  /**
   * Deterministic nonce for convergent encryption: the first 12 bytes of
   * HMAC-SHA256(key, "keywarden convergent v1" || len(aad) as 4 big-endian bytes || aad || plaintext).
   */
  public static byte[] convergentNonce(byte[] key, byte[] plaintext, byte[] aad) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(plaintext, "plaintext");
    byte[] ad = aad == null ? new byte[0] : aad;
    byte[] full = null;
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update(CONVERGENT_LABEL);
      mac.update(new byte[] {(byte) (ad.length >>> 24), (byte) (ad.length >>> 16), (byte) (ad.length >>> 8),
          (byte) ad.length});
      mac.update(ad);
      mac.update(plaintext);
      full = mac.doFinal();
      return Arrays.copyOf(full, JcaAead.NONCE_LENGTH);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalStateException("HMAC-SHA256 unavailable or key unusable", e);
    } finally {
      if (full != null) {
        Arrays.fill(full, (byte) 0);
      }
    }
  }
}
