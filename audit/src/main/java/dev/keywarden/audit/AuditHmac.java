package dev.keywarden.audit;

import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** How a secret is written: {@code hmac-sha256:<hex>} of the value under the device's 256-bit audit key. */
final class AuditHmac {
  static final String PREFIX = "hmac-sha256:";
  static final int KEY_BYTES = 32;

  private AuditHmac() {}

  /** The written form of {@code value} under {@code key}. The caller zeroizes {@code key}. */
  static String of(byte[] key, byte[] value) {
    return PREFIX + HexFormat.of().formatHex(keyed(key).doFinal(value));
  }

  /** A Mac keyed with {@code key} (it keeps only the key's pads). The caller zeroizes {@code key}. */
  static Mac keyed(byte[] key) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
    }
  }
}
