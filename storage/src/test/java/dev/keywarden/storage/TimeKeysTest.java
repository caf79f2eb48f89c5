package dev.keywarden.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import org.junit.jupiter.api.Test;

class TimeKeysTest {
  private static String key(long seconds) {
    return TimeKeys.start("x/expiry/", seconds, 20).append("/ca/serial").toString();
  }

  @Test
  void keyOrderIsTimeOrderAndTheSecondsReadBack() {
    qt().forAll(longs().between(0, Long.MAX_VALUE), longs().between(0, Long.MAX_VALUE)).checkAssert((a, b) -> {
      assertEquals(Long.signum(Long.compare(a, b)), Integer.signum(key(a).compareTo(key(b))));
      assertEquals(a, TimeKeys.seconds("x/expiry/", key(a)));
    });
  }

  @Test
  void paddedToTheWidthAskedForWithOrWithoutARest() {
    assertEquals("p/000000001700/r", TimeKeys.start("p/", 1700, 12).append("/r").toString());
    assertEquals(1700, TimeKeys.seconds("p/", "p/000000001700"));
    // SSH's "forever" is the unsigned maximum: 20 digits, still after every other time
    assertEquals("p/18446744073709551615", TimeKeys.start("p/", -1, 20).toString());
    assertEquals(-1, TimeKeys.seconds("p/", "p/18446744073709551615/x"));
  }
}
