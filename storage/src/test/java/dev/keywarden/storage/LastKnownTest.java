package dev.keywarden.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.failure.KeywardenException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class LastKnownTest {
  private static final KeywardenException DOWN = KeywardenException.unavailable("storage error: down", null);
  private final LastKnown<String, String> known = new LastKnown<>(100);

  private static Function<String, String> down(AtomicInteger calls) {
    return k -> {
      calls.incrementAndGet();
      throw DOWN;
    };
  }

  @Test
  void whileStorageIsUnavailableTheValueLastReadIsAnswered() {
    assertEquals("v1", known.read("t", k -> "v1"));
    AtomicInteger calls = new AtomicInteger();
    assertEquals("v1", known.read("t", down(calls)));
    assertEquals(1, calls.get());
    assertEquals("v1", known.read("t", down(calls)), "within a second of the failure");
    assertEquals(1, calls.get(), "storage is not asked again at once (no connection timeout per call)");
  }

  @Test
  void aChangeHeardOrAnAbsentValueIsNeverAnsweredFromHere() {
    known.read("t", k -> "v1");
    known.forget("t");
    assertSame(DOWN, assertThrows(KeywardenException.class, () -> known.read("t", down(new AtomicInteger()))));
    known.read("u", k -> "v1");
    assertNull(known.read("u", k -> null), "deleted in storage");
    assertSame(DOWN, assertThrows(KeywardenException.class, () -> known.read("u", down(new AtomicInteger()))));
    known.read("s", k -> "v1");
    known.clear();
    assertSame(DOWN, assertThrows(KeywardenException.class, () -> known.read("s", down(new AtomicInteger()))));
  }

  @Test
  void otherFailuresAreNotCoveredAndStorageIsAskedAgainOnceItWorks() throws Exception {
    known.read("t", k -> "v1");
    KeywardenException damaged = KeywardenException.precondition("damaged");
    assertSame(damaged, assertThrows(KeywardenException.class, () -> known.read("t", k -> {
      throw damaged;
    })));
    known.read("t", down(new AtomicInteger()));
    Thread.sleep(LastKnown.RETRY_NANOS / 1_000_000 + 50);
    assertEquals("v2", known.read("t", k -> "v2"), "storage back: its value, remembered");
    assertEquals("v2", known.read("t", down(new AtomicInteger())));
  }

  @Test
  void aReadThatRacedAChangeIsNotRemembered() {
    assertEquals("old", known.read("t", k -> {
      known.forget("t"); // the change's notice arrives while the read is under way
      return "old";
    }));
    assertThrows(KeywardenException.class, () -> known.read("t", down(new AtomicInteger())));
  }
}
