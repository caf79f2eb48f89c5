package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import org.junit.jupiter.api.Test;

/**
 * A buffer reused for record after record writes each one as a new buffer would: the second it keeps from the last
 * time it wrote is used only for that second, and names escaped once are the names escaped each time.
 */
class JsonBytesTest {
  private static String iso(long millis) {
    return DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochMilli(millis));
  }

  private static String time(JsonBytes g, long millis) {
    return new String(g.body().time("t", Instant.ofEpochMilli(millis)).end().toByteArray(),
        StandardCharsets.UTF_8);
  }

  private static String expected(long millis) {
    return "\"t\":\"" + iso(millis) + "\"}";
  }

  @Test
  void timesInOneMillisecondAreWrittenAlike() {
    JsonBytes g = new JsonBytes();
    long ms = Instant.parse("2026-12-02T10:20:30.456Z").toEpochMilli();
    assertEquals("\"t\":\"2026-12-02T10:20:30.456Z\"}", time(g, ms));
    assertEquals("\"t\":\"2026-12-02T10:20:30.456Z\"}", time(g, ms));
    assertEquals(expected(ms), time(g, ms));
  }

  @Test
  void timesInOneSecondKeepTheirOwnMilliseconds() {
    JsonBytes g = new JsonBytes();
    long second = Instant.parse("2026-12-02T10:20:30Z").toEpochMilli();
    assertEquals("\"t\":\"2026-12-02T10:20:30.456Z\"}", time(g, second + 456));
    assertEquals("\"t\":\"2026-12-02T10:20:30.001Z\"}", time(g, second + 1));
    assertEquals("\"t\":\"2026-12-02T10:20:30Z\"}", time(g, second)); // a whole second has no fraction
    assertEquals("\"t\":\"2026-12-02T10:20:30.999Z\"}", time(g, second + 999));
  }

  @Test
  void theNextSecondDayMonthAndYearAreNotTakenForTheLastOne() {
    JsonBytes g = new JsonBytes();
    long newYear = Instant.parse("2027-01-01T00:00:00Z").toEpochMilli();
    assertEquals("\"t\":\"2026-12-31T23:59:59.999Z\"}", time(g, newYear - 1));
    assertEquals("\"t\":\"2027-01-01T00:00:00Z\"}", time(g, newYear));
    assertEquals("\"t\":\"2026-12-31T23:59:59.500Z\"}", time(g, newYear - 500)); // back again
    assertEquals("\"t\":\"2027-01-01T00:00:01.002Z\"}", time(g, newYear + 1002));
    long epoch = 0;
    assertEquals("\"t\":\"1969-12-31T23:59:59.999Z\"}", time(g, epoch - 1));
    assertEquals("\"t\":\"1970-01-01T00:00:00Z\"}", time(g, epoch));
  }

  @Test
  void aYearWrittenOtherwiseDoesNotDisturbTheSecondKept() {
    JsonBytes g = new JsonBytes();
    long now = Instant.parse("2026-12-02T10:20:30.456Z").toEpochMilli();
    long far = Instant.parse("+10000-01-01T00:00:00.5Z").toEpochMilli();
    assertEquals(expected(now), time(g, now));
    assertEquals(expected(far), time(g, far));
    assertEquals(expected(now + 1), time(g, now + 1));
    assertEquals(expected(-far), time(g, -far));
    assertEquals(expected(now), time(g, now));
  }

  @Test
  void aReusedBufferWritesEveryTimeAsAFreshOneAndAsIsoInstant() {
    JsonBytes reused = new JsonBytes();
    long lo = Instant.parse("0000-01-01T00:00:00Z").toEpochMilli();
    long hi = Instant.parse("9999-12-31T23:59:59.999Z").toEpochMilli();
    long[] last = {1_800_000_000_000L};
    // mostly near the last time (same millisecond, same second, the next ones), sometimes anywhere
    qt().withExamples(20_000).forAll(integers().between(-2, 2), longs().between(-1500, 1500),
        longs().between(lo - 86_400_000L * 800, hi + 86_400_000L * 800)).checkAssert((how, near, anywhere) -> {
          long ms = switch (how) {
            case -2 -> anywhere;
            case -1 -> last[0] - Math.floorMod(last[0], 1000) + Math.floorMod(near, 1000);
            case 0 -> last[0];
            default -> last[0] + near;
          };
          last[0] = ms;
          String fresh = time(new JsonBytes(), ms);
          assertEquals(expected(ms), fresh);
          assertEquals(fresh, time(reused, ms), () -> Instant.ofEpochMilli(ms).toString());
        });
  }

  @Test
  void aNameEscapedOnceIsWrittenAsEachTime() {
    for (String name : new String[] {"type", "duration_us", "é\"\\\u0001😀\ud800"}) {
      byte[] once = JsonBytes.encodedName(name);
      JsonBytes a = new JsonBytes().body().string(once, "v").number(once, -7).bool(once, true)
          .nonEmpty(once, "").nonEmpty(once, "w").time(once, Instant.ofEpochMilli(1)).startObject(once)
          .string(once, "").endObject().end();
      JsonBytes b = new JsonBytes().body().string(name, "v").number(name, -7).bool(name, true)
          .nonEmpty(name, "").nonEmpty(name, "w").time(name, Instant.ofEpochMilli(1)).startObject(name)
          .string(name, "").endObject().end();
      assertEquals(new String(b.toByteArray(), StandardCharsets.UTF_8),
          new String(a.toByteArray(), StandardCharsets.UTF_8));
    }
    JsonBytes array = new JsonBytes().body().bool("a", false).startArray(JsonBytes.encodedName("policies")).element("x")
        .element("y").endArray().end();
    assertEquals("\"a\":false,\"policies\":[\"x\",\"y\"]}",
        new String(array.toByteArray(), StandardCharsets.UTF_8));
  }

  @Test
  void numbersAreWrittenAsLongToString() {
    qt().withExamples(5000).forAll(longs().all().mix(longs().between(-1000, 1000))).checkAssert(n -> {
      JsonBytes g = new JsonBytes().body();
      g.decimal(n);
      assertEquals(Long.toString(n), new String(g.toByteArray(), StandardCharsets.US_ASCII));
    });
    for (long n : new long[] {0, 9, 10, 99, 100, Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE + 1, -1}) {
      JsonBytes g = new JsonBytes().body().number("n", n).end();
      assertEquals("\"n\":" + n + "}", new String(g.toByteArray(), StandardCharsets.US_ASCII));
    }
  }
}
