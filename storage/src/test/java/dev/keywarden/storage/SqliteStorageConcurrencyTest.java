package dev.keywarden.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SqliteStorageConcurrencyTest {

  private static final int THREADS = 8;

  @TempDir Path dataDir;
  private SqliteStorage storage;
  private ExecutorService pool;

  @BeforeEach
  void open() {
    storage = SqliteStorage.open(dataDir);
    pool = Executors.newFixedThreadPool(THREADS);
  }

  @AfterEach
  void close() throws InterruptedException {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
    storage.close();
  }

  @Test
  void aWriterInAnotherProcessMakesUsWaitInsteadOfFail() throws Exception {
    storage.put("k", encode(1));
    CountDownLatch locked = new CountDownLatch(1);
    Future<?> other = pool.submit(() -> {
      // a second connection stands in for another process, e.g. an operator tool
      try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("keywarden.db"));
          java.sql.Statement s = c.createStatement()) {
        s.execute("BEGIN IMMEDIATE");
        s.execute("UPDATE kv SET value = X'32', version = version + 1 WHERE key = 'k'");
        locked.countDown();
        Thread.sleep(700);
        s.execute("COMMIT");
      }
      return null;
    });
    assertTrue(locked.await(10, TimeUnit.SECONDS));
    long started = System.nanoTime();
    assertTrue(storage.compareAndSet("k", 2, encode(3)));
    storage.atomically(ops -> {
      ops.put("other", encode(4));
      return null;
    });
    assertTrue(System.nanoTime() - started > TimeUnit.MILLISECONDS.toNanos(300), "did not wait for the other writer");
    other.get();
    assertEquals(3, decode(storage.get("k").orElseThrow()));
    assertEquals(3, storage.get("k").orElseThrow().version());
  }

  private static byte[] encode(long n) {
    return Long.toString(n).getBytes(UTF_8);
  }

  private static long decode(StoredEntry entry) {
    return Long.parseLong(new String(entry.value(), UTF_8));
  }

  @Test
  void concurrentWritersShareCommitsAndEachGetsItsOwnOutcome() throws Exception {
    int perThread = 20;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      results.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < perThread; i++) {
          String key = "w/" + thread + "/" + i;
          boolean fails = i % 5 == 0;
          try {
            storage.atomically(ops -> {
              ops.put(key, "v".getBytes(UTF_8));
              sleep(2); // a write that takes a while: others queue behind it and go in the next commit together
              if (fails) {
                throw new IllegalArgumentException("refused " + key);
              }
              return null;
            });
            assertTrue(!fails, key + " should have failed");
          } catch (IllegalArgumentException e) {
            assertEquals("refused " + key, e.getMessage(), "each caller gets its own failure");
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> f : results) {
      f.get();
    }
    int writes = THREADS * perThread;
    for (int t = 0; t < THREADS; t++) {
      for (int i = 0; i < perThread; i++) {
        assertEquals(i % 5 != 0, storage.get("w/" + t + "/" + i).isPresent(), "w/" + t + "/" + i);
      }
    }
    assertTrue(storage.commits.get() < writes / 2, storage.commits.get() + " commits for " + writes + " writes");
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
