package dev.keywarden.transit.crypto;

import dev.keywarden.failure.KeywardenException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC (RFC 2104) over the SHA-2 family. Verification takes full-length MACs only: truncated tags are refused, since the
 * service never emits them and accepting shorter tags would weaken every key.
 */
public final class Macs {

  private Macs() {
  }

  /** HMAC of data under key with the given hash; full length (32, 48 or 64 bytes). */
  public static byte[] hmac(byte[] key, HashAlgorithm hash, byte[] data) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(hash, "hash");
    Objects.requireNonNull(data, "data");
    if (key.length == 0) {
      throw KeywardenException.invalid("HMAC key must not be empty");
    }
    try {
      Mac mac = Mac.getInstance(hash.hmacName());
      mac.init(new SecretKeySpec(key, hash.hmacName()));
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(hash.hmacName() + " unavailable", e);
    }
  }

  /** True iff mac is the full-length HMAC of data; compares in constant time. */
  public static boolean verify(byte[] key, HashAlgorithm hash, byte[] data, byte[] mac) {
    Objects.requireNonNull(mac, "mac");
    byte[] expected = hmac(key, hash, data);
    try {
      // MessageDigest.isEqual is constant-time for equal lengths; the length itself is public.
      return mac.length == expected.length && MessageDigest.isEqual(expected, mac);
    } finally {
      Arrays.fill(expected, (byte) 0);
    }
  }
}
