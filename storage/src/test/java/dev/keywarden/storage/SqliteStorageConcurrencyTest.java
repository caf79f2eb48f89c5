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
  void compareAndSetIncrementsFromManyThreadsLoseNothing() throws Exception {
    int perThread = 200;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Integer>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      results.add(pool.submit(() -> {
        start.await();
        int conflicts = 0;
        for (int i = 0; i < perThread; i++) {
          while (true) {
            Optional<StoredEntry> current = storage.get("counter");
            long version = current.map(StoredEntry::version).orElse(0L);
            long count = current.map(e -> Long.parseLong(new String(e.value(), UTF_8))).orElse(0L);
            if (storage.compareAndSet("counter", version, Long.toString(count + 1).getBytes(UTF_8))) {
              break;
            }
            conflicts++;
          }
        }
        return conflicts;
      }));
    }
    start.countDown();
    for (Future<Integer> result : results) {
      result.get();
    }
    StoredEntry counter = storage.get("counter").orElseThrow();
    assertEquals(THREADS * perThread, Long.parseLong(new String(counter.value(), UTF_8)));
    assertEquals(THREADS * perThread, counter.version());
  }

  @Test
  void concurrentTransfersKeepTheSumConstant() throws Exception {
    storage.put("account/a", encode(1000));
    storage.put("account/b", encode(1000));
    AtomicBoolean torn = new AtomicBoolean();
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      long seed = t;
      results.add(pool.submit(() -> {
        start.await();
        Random random = new Random(seed);
        for (int i = 0; i < 100; i++) {
          int amount = random.nextInt(50) - 25;
          boolean fail = random.nextInt(5) == 0;
          try {
            storage.atomically(ops -> {
              long a = decode(ops.get("account/a").orElseThrow());
              ops.put("account/a", encode(a - amount));
              long b = decode(ops.get("account/b").orElseThrow());
              if (fail) {
                throw new IllegalStateException("abandoned transfer");
              }
              ops.put("account/b", encode(b + amount));
              return null;
            });
          } catch (IllegalStateException expected) {
            // rolled back: the half-done transfer must not show
          }
          long sum = storage.atomically(ops ->
              decode(ops.get("account/a").orElseThrow()) + decode(ops.get("account/b").orElseThrow()));
          if (sum != 2000) {
            torn.set(true);
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> result : results) {
      result.get();
    }
    assertTrue(!torn.get(), "a reader saw a half-done transfer");
    assertEquals(2000, decode(storage.get("account/a").orElseThrow()) + decode(storage.get("account/b").orElseThrow()));
  }

  @Test
  void readersAndWritersOnManyKeysDoNotFail() throws Exception {
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      results.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < 100; i++) {
          String key = "t" + thread + "/" + i;
          storage.put(key, encode(i));
          storage.list("t" + thread + "/");
          assertEquals(i, decode(storage.get(key).orElseThrow()));
          if (i % 3 == 0) {
            assertTrue(storage.delete(key));
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> result : results) {
      result.get();
    }
    for (int t = 0; t < THREADS; t++) {
      assertEquals(66, storage.list("t" + t + "/").size());
    }
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

  @Test
  void readsDoNotWaitForAWriteInProgressAndSeeOnlyCommittedValues() throws Exception {
    storage.put("k", "old".getBytes(UTF_8));
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch readDone = new CountDownLatch(1);
    Future<?> writer = pool.submit(() -> storage.atomically(ops -> {
      ops.put("k", "new".getBytes(UTF_8));
      writing.countDown();
      try {
        // the transaction stays open until the reader has read; if reads waited for writes this would time out
        assertTrue(readDone.await(30, TimeUnit.SECONDS), "the read never finished while a write was open");
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      return null;
    }));
    assertTrue(writing.await(30, TimeUnit.SECONDS));
    Future<String> read = pool.submit(() -> new String(storage.get("k").orElseThrow().value(), UTF_8));
    assertEquals("old", read.get(30, TimeUnit.SECONDS));
    readDone.countDown();
    writer.get(30, TimeUnit.SECONDS);
    assertEquals("new", new String(storage.get("k").orElseThrow().value(), UTF_8));
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
