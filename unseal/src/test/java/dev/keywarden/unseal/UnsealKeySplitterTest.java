package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.failure.KeywardenException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UnsealKeySplitterTest {

  private final Random random = new Random(42);
  private final byte[] key = Shares.key(random);

  @Test
  void oneOfOneIsTheKey() {
    List<UnsealShare> shares = UnsealKeySplitter.split(key, 1, 1, new SecureRandom());
    assertEquals(1, shares.size());
    assertArrayEquals(key, UnsealKeySplitter.combine(shares));
  }

  @Test
  void thresholdOneOfManyLetsEachShareAloneRebuildTheKey() {
    List<UnsealShare> shares = UnsealKeySplitter.split(key, 5, 1, new SecureRandom());
    for (UnsealShare share : shares) {
      assertArrayEquals(key, UnsealKeySplitter.combine(List.of(share)));
    }
    assertArrayEquals(key, UnsealKeySplitter.combine(shares));
  }

  @ParameterizedTest
  @CsvSource({"255,255", "255,2", "255,128", "255,1", "2,2", "100,99"})
  void largeSplitsRebuildTheKeyFromAnyThresholdShares(int n, int k) {
    List<UnsealShare> shares = UnsealKeySplitter.split(key, n, k, new SecureRandom());
    for (int round = 0; round < 3; round++) {
      assertArrayEquals(key, UnsealKeySplitter.combine(Shares.pick(shares, k, random)));
    }
    if (k > 1) {
      KeywardenException e = assertThrows(KeywardenException.class,
          () -> UnsealKeySplitter.combine(Shares.pick(shares, k - 1, random)));
      assertEquals("need " + k + " shares, have " + (k - 1), e.getMessage());
    }
  }

  @Test
  void duplicateShareCountsOnce() {
    List<UnsealShare> shares = UnsealKeySplitter.split(key, 5, 3, new SecureRandom());
    List<UnsealShare> given = List.of(shares.get(0), shares.get(1), shares.get(1), copy(shares.get(0)));
    KeywardenException e = assertThrows(KeywardenException.class, () -> UnsealKeySplitter.combine(given));
    assertEquals("need 3 shares, have 2", e.getMessage());
    List<UnsealShare> enough = new ArrayList<>(given);
    enough.add(shares.get(4));
    assertArrayEquals(key, UnsealKeySplitter.combine(enough));
  }

  @Test
  void sameIndexWithDifferentValuesIsRefused() {
    List<UnsealShare> shares = UnsealKeySplitter.split(key, 5, 2, new SecureRandom());
    UnsealShare damaged = copy(shares.get(0));
    damaged.value()[0] ^= 1;
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> UnsealKeySplitter.combine(List.of(shares.get(0), damaged, shares.get(1))));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals(true, e.getMessage().contains("share 1 was given twice"), e.getMessage());
  }

  @Test
  void mixingShareSetsIsRefusedEvenWithEnoughFromOne() {
    List<UnsealShare> first = UnsealKeySplitter.split(key, 3, 2, new SecureRandom());
    List<UnsealShare> second = UnsealKeySplitter.split(key, 3, 2, new SecureRandom());
    assertNotEquals(first.get(0).shareSetId(), second.get(0).shareSetId());
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> UnsealKeySplitter.combine(List.of(first.get(0), first.get(1), second.get(2))));
    assertEquals(true, e.getMessage().startsWith("shares come from different share sets"));
  }

  @Test
  void noSharesIsRefused() {
    assertEquals("no shares given",
        assertThrows(KeywardenException.class, () -> UnsealKeySplitter.combine(List.of())).getMessage());
  }

  @ParameterizedTest
  @CsvSource({
      "3, 4, threshold 4 is larger than shares 3",
      "3, 0, 'threshold must be at least 1, not 0'",
      "0, 1, 'shares must be 1..255, not 0'",
      "256, 2, 'shares must be 1..255, not 256'",
  })
  void splitNamesTheWrongField(int n, int k, String message) {
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> UnsealKeySplitter.split(key, n, k, new SecureRandom()));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals(message, e.getMessage());
  }

  @Test
  void splitRefusesKeysOfTheWrongLength() {
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> UnsealKeySplitter.split(new byte[31], 3, 2, new SecureRandom()));
    assertEquals("key must be 32 bytes, not 31", e.getMessage());
  }

  @Test
  void toStringShowsNoShareBytes() {
    UnsealShare share = UnsealKeySplitter.split(key, 3, 2, new SecureRandom()).get(0);
    String text = share.toString();
    String hex = HexFormat.of().formatHex(share.value());
    assertFalse(text.contains(hex));
    assertFalse(text.contains(java.util.Arrays.toString(share.value())));
    assertFalse(text.toLowerCase().contains(hex.substring(0, 8)));
    assertEquals("UnsealShare[set=" + Integer.toHexString(share.shareSetId()) + ", index=1, threshold=2]", text);
  }

  @Test
  void destroyZeroizesTheValue() {
    UnsealShare share = UnsealKeySplitter.split(key, 3, 2, new SecureRandom()).get(0);
    share.destroy();
    assertArrayEquals(new byte[32], share.value());
  }

  private static UnsealShare copy(UnsealShare s) {
    return new UnsealShare(s.shareSetId(), s.index(), s.threshold(), s.value().clone());
  }
}
