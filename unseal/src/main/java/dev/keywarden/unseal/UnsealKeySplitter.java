package dev.keywarden.unseal;

import com.codahale.shamir.Scheme;
import dev.keywarden.failure.KeywardenException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Splits the unseal key into K-of-N Shamir shares and joins them back. */
public final class UnsealKeySplitter {

  /** Length of the unseal key and of every share value, in bytes. */
  public static final int KEY_BYTES = 32;

  /** Most shares one split can make: share indices are one byte. */
  public static final int MAX_SHARES = 255;

  private UnsealKeySplitter() {}

  /** Splits {@code key} into {@code shares} shares of which any {@code threshold} rebuild it. */
  public static List<UnsealShare> split(byte[] key, int shares, int threshold, SecureRandom random) {
    if (key == null || key.length != KEY_BYTES) {
      throw KeywardenException.invalid(
          "key must be " + KEY_BYTES + " bytes, not " + (key == null ? "missing" : key.length));
    }
    if (shares < 1 || shares > MAX_SHARES) {
      throw KeywardenException.invalid("shares must be 1.." + MAX_SHARES + ", not " + shares);
    }
    if (threshold < 1) {
      throw KeywardenException.invalid("threshold must be at least 1, not " + threshold);
    }
    if (threshold > shares) {
      throw KeywardenException.invalid("threshold " + threshold + " is larger than shares " + shares);
    }
    int shareSetId = random.nextInt();
    List<UnsealShare> result = new ArrayList<>(shares);
    if (threshold == 1) {
      // Scheme refuses K=1; a degree-0 polynomial is the constant key, so every share is the key itself
      for (int index = 1; index <= shares; index++) {
        result.add(new UnsealShare(shareSetId, index, 1, key.clone()));
      }
      return List.copyOf(result);
    }
    Map<Integer, byte[]> parts = new Scheme(random, shares, threshold).split(key);
    for (int index = 1; index <= shares; index++) {
      // the share takes ownership of the library's array: no copy left behind to zeroize
      result.add(new UnsealShare(shareSetId, index, threshold, parts.get(index)));
    }
    return List.copyOf(result);
  }

  /**
   * Rebuilds the key from at least threshold shares of one share set. The caller owns (and zeroizes) the result.
   * Duplicates of the same share count once.
   */
  public static byte[] combine(Collection<UnsealShare> shares) {
    if (shares == null || shares.isEmpty()) {
      throw KeywardenException.invalid("no shares given");
    }
    UnsealShare first = shares.iterator().next();
    TreeMap<Integer, UnsealShare> byIndex = new TreeMap<>();
    for (UnsealShare share : shares) {
      if (share.shareSetId() != first.shareSetId()) {
        throw KeywardenException.invalid(
            "shares come from different share sets: enter shares from the latest init or rekey only");
      }
      if (share.threshold() != first.threshold()) {
        throw KeywardenException.invalid("shares disagree on the threshold (" + first.threshold() + " and "
            + share.threshold() + "): at least one of them is damaged");
      }
      if (share.value() == null || share.value().length != KEY_BYTES) {
        throw KeywardenException.invalid("share " + share.index() + " is damaged: it must hold " + KEY_BYTES + " bytes");
      }
      UnsealShare earlier = byIndex.putIfAbsent(share.index(), share);
      if (earlier != null && !Arrays.equals(earlier.value(), share.value())) {
        throw KeywardenException.invalid(
            "share " + share.index() + " was given twice with different codes: at least one of them is damaged");
      }
    }
    int threshold = first.threshold();
    if (byIndex.size() < threshold) {
      // with fewer than K points Shamir interpolation silently yields a wrong key, so refuse here
      throw KeywardenException.invalid("need " + threshold + " shares, have " + byIndex.size());
    }
    if (threshold == 1) {
      return byIndex.firstEntry().getValue().value().clone();
    }
    Map<Integer, byte[]> parts = new HashMap<>();
    // exactly K points define the polynomial; the shares' own arrays are read, not copied
    for (UnsealShare share : byIndex.values()) {
      if (parts.size() == threshold) {
        break;
      }
      parts.put(share.index(), share.value());
    }
    // join needs no randomness, but Scheme only comes with a constructor that takes some
    return new Scheme(new SecureRandom(), MAX_SHARES, threshold).join(parts);
  }
}
