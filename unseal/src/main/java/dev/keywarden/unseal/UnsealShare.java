package dev.keywarden.unseal;

import java.util.Arrays;

/**
 * One Shamir share of the unseal key, as decoded from what an operator typed.
 *
 * @param shareSetId which split this share came from (changes on every init and rekey), not secret
 * @param index the share's x coordinate, 1..255
 * @param threshold K, how many shares rebuild the key
 * @param value the share's bytes (secret: zeroize with {@link #destroy()})
 */
public record UnsealShare(int shareSetId, int index, int threshold, byte[] value) {
  public UnsealShare {
    if (index < 1 || index > 255) {
      throw new IllegalArgumentException("share index must be 1..255");
    }
    if (threshold < 1 || threshold > 255) {
      throw new IllegalArgumentException("threshold must be 1..255");
    }
  }

  /** Zeroizes the share's bytes. */
  public void destroy() {
    Arrays.fill(value, (byte) 0);
  }

  @Override
  public String toString() {
    return "UnsealShare[set=" + Integer.toHexString(shareSetId) + ", index=" + index + ", threshold=" + threshold + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof UnsealShare s && s.shareSetId == shareSetId && s.index == index && s.threshold == threshold
        && Arrays.equals(s.value, value);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * shareSetId + index) + threshold;
  }
}
