package dev.keywarden.server.wiring;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The CRL schedule: it calls the engine's refresh again and again, skips while sealed, and survives failures. */
class CrlRefreshTest {
  static final Duration SOON = Duration.ofMillis(10);

  @Test
  void theScheduleCallsRefreshRepeatedly() throws Exception {
    Semaphore calls = new Semaphore(0);
    CrlRefresh schedule = new CrlRefresh(() -> {
      calls.release();
      return List.of("abc");
    }, () -> false, SOON, SOON);
    try {
      assertTrue(calls.tryAcquire(3, 10, TimeUnit.SECONDS), "refreshCrls called three times");
    } finally {
      schedule.stop();
    }
  }

  @Test
  void nothingRunsWhileSealedAndTheScheduleResumesOnUnseal() throws Exception {
    AtomicBoolean sealed = new AtomicBoolean(true);
    AtomicInteger checks = new AtomicInteger();
    Semaphore calls = new Semaphore(0);
    CrlRefresh schedule = new CrlRefresh(() -> {
      calls.release();
      return List.of();
    }, () -> {
      checks.incrementAndGet();
      return sealed.get();
    }, SOON, SOON);
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (checks.get() < 3 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertTrue(checks.get() >= 3, "the schedule ran");
      assertEquals(0, calls.availablePermits(), "no refresh while sealed");
      sealed.set(false);
      assertTrue(calls.tryAcquire(1, 10, TimeUnit.SECONDS), "refresh once unsealed");
    } finally {
      schedule.stop();
    }
  }

  @Test
  void aFailingRefreshDoesNotStopTheSchedule() throws Exception {
    Semaphore calls = new Semaphore(0);
    CrlRefresh schedule = new CrlRefresh(() -> {
      calls.release();
      throw new IllegalStateException("HSM hiccup");
    }, () -> false, SOON, SOON);
    try {
      assertTrue(calls.tryAcquire(3, 10, TimeUnit.SECONDS), "called again after failing");
    } finally {
      schedule.stop();
    }
  }
}
