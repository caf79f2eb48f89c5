package dev.keywarden.unseal;

import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** Deterministic randomness for share tests, so that a failing QuickTheories seed reproduces. */
final class Shares {
  private Shares() {}

  static SecureRandom seeded(long seed) {
    try {
      SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
      random.setSeed(seed);
      return random;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] key(Random random) {
    byte[] key = new byte[UnsealKeySplitter.KEY_BYTES];
    random.nextBytes(key);
    return key;
  }

  /** {@code count} distinct shares picked at random, in random order. */
  static List<UnsealShare> pick(List<UnsealShare> shares, int count, Random random) {
    List<UnsealShare> copy = new ArrayList<>(shares);
    Collections.shuffle(copy, random);
    return new ArrayList<>(copy.subList(0, count));
  }
}
