package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The periodic task runner: it runs a task again and again, skips while sealed, and survives failures. */
class PeriodicTasksTest {
  static final Duration SOON = Duration.ofMillis(10);

  @Test
  void theScheduleRunsTheTaskRepeatedly() throws Exception {
    Semaphore calls = new Semaphore(0);
    PeriodicTasks schedule = new PeriodicTasks(() -> false);
    schedule.schedule("test", SOON, SOON, () -> {
      calls.release();
      return "ran";
    });
    try {
      assertTrue(calls.tryAcquire(3, 10, TimeUnit.SECONDS), "the task ran three times");
    } finally {
      schedule.close();
    }
  }

  @Test
  void nothingRunsWhileSealedAndTheScheduleResumesOnUnseal() throws Exception {
    AtomicBoolean sealed = new AtomicBoolean(true);
    AtomicInteger checks = new AtomicInteger();
    Semaphore calls = new Semaphore(0);
    PeriodicTasks schedule = new PeriodicTasks(() -> {
      checks.incrementAndGet();
      return sealed.get();
    });
    schedule.schedule("test", SOON, SOON, () -> {
      calls.release();
      return null;
    });
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (checks.get() < 3 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertTrue(checks.get() >= 3, "the schedule ran");
      assertEquals(0, calls.availablePermits(), "nothing runs while sealed");
      sealed.set(false);
      assertTrue(calls.tryAcquire(1, 10, TimeUnit.SECONDS), "runs once unsealed");
    } finally {
      schedule.close();
    }
  }

  @Test
  void aFailingTaskDoesNotStopTheSchedule() throws Exception {
    Semaphore calls = new Semaphore(0);
    PeriodicTasks schedule = new PeriodicTasks(() -> false);
    schedule.schedule("test", SOON, SOON, () -> {
      calls.release();
      throw new IllegalStateException("HSM hiccup");
    });
    try {
      assertTrue(calls.tryAcquire(3, 10, TimeUnit.SECONDS), "called again after failing");
    } finally {
      schedule.close();
    }
  }
}
