package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.failure.KeywardenException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class UnsealKeySplitterPropertiesTest {

  @Property(tries = 300)
  void anyThresholdOfSharesRebuildTheKey(
      @ForAll @IntRange(min = 1, max = 20) int shares,
      @ForAll @IntRange(min = 1, max = 20) int threshold,
      @ForAll @IntRange(min = 0, max = 20) int extra,
      @ForAll Random random) {
    Assume.that(threshold <= shares);
    byte[] key = Shares.key(random);
    List<UnsealShare> all = UnsealKeySplitter.split(key, shares, threshold, Shares.seeded(random.nextLong()));
    int count = Math.min(shares, threshold + extra);
    assertArrayEquals(key, UnsealKeySplitter.combine(Shares.pick(all, count, random)));
  }

  @Property(tries = 300)
  void oneShareTooFewIsRefused(
      @ForAll @IntRange(min = 2, max = 20) int shares,
      @ForAll @IntRange(min = 2, max = 20) int threshold,
      @ForAll @IntRange(min = 0, max = 3) int duplicates,
      @ForAll Random random) {
    Assume.that(threshold <= shares);
    List<UnsealShare> all = UnsealKeySplitter.split(Shares.key(random), shares, threshold, Shares.seeded(random.nextLong()));
    List<UnsealShare> given = Shares.pick(all, threshold - 1, random);
    for (int i = 0; i < duplicates; i++) {
      // duplicates must not make up for a missing share
      given.add(given.get(random.nextInt(given.size())));
    }
    Collections.shuffle(given, random);
    KeywardenException e = assertThrows(KeywardenException.class, () -> UnsealKeySplitter.combine(given));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals("need " + threshold + " shares, have " + (threshold - 1), e.getMessage());
  }

  @Property(tries = 200)
  void sharesFromDifferentSetsAreRefused(
      @ForAll @IntRange(min = 2, max = 10) int shares,
      @ForAll @IntRange(min = 1, max = 10) int threshold,
      @ForAll Random random) {
    Assume.that(threshold <= shares);
    byte[] key = Shares.key(random);
    List<UnsealShare> first = UnsealKeySplitter.split(key, shares, threshold, Shares.seeded(random.nextLong()));
    List<UnsealShare> second = UnsealKeySplitter.split(key, shares, threshold, Shares.seeded(random.nextLong()));
    Assume.that(first.get(0).shareSetId() != second.get(0).shareSetId());
    List<UnsealShare> mixed = new ArrayList<>(Shares.pick(first, threshold, random));
    mixed.add(second.get(random.nextInt(shares)));
    Collections.shuffle(mixed, random);
    KeywardenException e = assertThrows(KeywardenException.class, () -> UnsealKeySplitter.combine(mixed));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals(true, e.getMessage().startsWith("shares come from different share sets"), e.getMessage());
  }

  @Property(tries = 100)
  void everySplitHasItsOwnShareSetAndIndicesOneToN(
      @ForAll @IntRange(min = 1, max = 255) int shares, @ForAll Random random) {
    int threshold = 1 + random.nextInt(shares);
    List<UnsealShare> all = UnsealKeySplitter.split(Shares.key(random), shares, threshold, Shares.seeded(random.nextLong()));
    assertEquals(shares, all.size());
    for (int i = 0; i < shares; i++) {
      assertEquals(i + 1, all.get(i).index());
      assertEquals(threshold, all.get(i).threshold());
      assertEquals(all.get(0).shareSetId(), all.get(i).shareSetId());
      assertEquals(UnsealKeySplitter.KEY_BYTES, all.get(i).value().length);
    }
  }
}
