package dev.keywarden.unseal;

import static dev.keywarden.testing.Generators.randoms;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.keywarden.failure.KeywardenException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.quicktheories.QuickTheory;

class UnsealKeySplitterPropertiesTest {

  /**
   * QuickTheories draws again when an assumption fails, but gives up after a few failures in a row; about half of
   * the (shares, threshold) pairs have threshold > shares, so allow enough draws that it never gives up.
   */
  private static QuickTheory qtWithAssumptions(int examples) {
    return qt().withExamples(examples).withGenerateAttempts(200);
  }

  @Test
  void anyThresholdOfSharesRebuildTheKey() {
    qtWithAssumptions(300)
        .forAll(integers().between(1, 20), integers().between(1, 20), integers().between(0, 20), randoms())
        .assuming((shares, threshold, extra, random) -> threshold <= shares)
        .checkAssert((shares, threshold, extra, random) -> {
          byte[] key = Shares.key(random);
          List<UnsealShare> all = UnsealKeySplitter.split(key, shares, threshold, Shares.seeded(random.nextLong()));
          int count = Math.min(shares, threshold + extra);
          assertArrayEquals(key, UnsealKeySplitter.combine(Shares.pick(all, count, random)));
        });
  }

  @Test
  void oneShareTooFewIsRefused() {
    qtWithAssumptions(300)
        .forAll(integers().between(2, 20), integers().between(2, 20), integers().between(0, 3), randoms())
        .assuming((shares, threshold, duplicates, random) -> threshold <= shares)
        .checkAssert((shares, threshold, duplicates, random) -> {
          List<UnsealShare> all =
              UnsealKeySplitter.split(Shares.key(random), shares, threshold, Shares.seeded(random.nextLong()));
          List<UnsealShare> given = Shares.pick(all, threshold - 1, random);
          for (int i = 0; i < duplicates; i++) {
            // duplicates must not make up for a missing share
            given.add(given.get(random.nextInt(given.size())));
          }
          Collections.shuffle(given, random);
          KeywardenException e = assertThrows(KeywardenException.class, () -> UnsealKeySplitter.combine(given));
          assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
          assertEquals("need " + threshold + " shares, have " + (threshold - 1), e.getMessage());
        });
  }

  /** Two splits of one key, made from one seed, and the generator left where the splits left it. */
  private record TwoSplits(List<UnsealShare> first, List<UnsealShare> second, Random random) {
    static TwoSplits of(int shares, int threshold, long seed) {
      Random random = new Random(seed);
      byte[] key = Shares.key(random);
      List<UnsealShare> first = UnsealKeySplitter.split(key, shares, threshold, Shares.seeded(random.nextLong()));
      List<UnsealShare> second = UnsealKeySplitter.split(key, shares, threshold, Shares.seeded(random.nextLong()));
      return new TwoSplits(first, second, random);
    }

    boolean fromDifferentSets() {
      return first.get(0).shareSetId() != second.get(0).shareSetId();
    }
  }

  @Test
  void sharesFromDifferentSetsAreRefused() {
    // a seed rather than a Random, so that the assumption and the check see the same splits
    qtWithAssumptions(200)
        .forAll(integers().between(2, 10), integers().between(1, 10), longs().all())
        .assuming((shares, threshold, seed) -> threshold <= shares)
        .assuming((shares, threshold, seed) -> TwoSplits.of(shares, threshold, seed).fromDifferentSets())
        .checkAssert((shares, threshold, seed) -> {
          TwoSplits splits = TwoSplits.of(shares, threshold, seed);
          Random random = splits.random();
          List<UnsealShare> mixed = new ArrayList<>(Shares.pick(splits.first(), threshold, random));
          mixed.add(splits.second().get(random.nextInt(shares)));
          Collections.shuffle(mixed, random);
          KeywardenException e = assertThrows(KeywardenException.class, () -> UnsealKeySplitter.combine(mixed));
          assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
          assertEquals(true, e.getMessage().startsWith("shares come from different share sets"), e.getMessage());
        });
  }

  @Test
  void everySplitHasItsOwnShareSetAndIndicesOneToN() {
    qt().withExamples(100).forAll(integers().between(1, 255), randoms()).checkAssert((shares, random) -> {
      int threshold = 1 + random.nextInt(shares);
      List<UnsealShare> all =
          UnsealKeySplitter.split(Shares.key(random), shares, threshold, Shares.seeded(random.nextLong()));
      assertEquals(shares, all.size());
      for (int i = 0; i < shares; i++) {
        assertEquals(i + 1, all.get(i).index());
        assertEquals(threshold, all.get(i).threshold());
        assertEquals(all.get(0).shareSetId(), all.get(i).shareSetId());
        assertEquals(UnsealKeySplitter.KEY_BYTES, all.get(i).value().length);
      }
    });
  }
}
