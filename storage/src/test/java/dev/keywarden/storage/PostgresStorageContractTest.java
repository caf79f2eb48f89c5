package dev.keywarden.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.storage.testing.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The storage contract on a real PostgreSQL (one database for this class, emptied before each test). */
class PostgresStorageContractTest extends StorageContractTest {
  private static final String DATABASE = "contract";
  private static String url;

  @BeforeAll
  static void createDatabase() {
    url = PostgresServer.shared().createDatabase(DATABASE);
  }

  @Override
  protected Storage newStorage() {
    PostgresStorage storage = PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null));
    try (Connection c = PostgresServer.shared().superuser(DATABASE); Statement s = c.createStatement()) {
      s.execute("TRUNCATE kv");
    } catch (SQLException e) {
      storage.close();
      throw new IllegalStateException(e);
    }
    return storage;
  }

  @Override
  protected Storage reopen() {
    return PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null));
  }

  @Override
  protected int modelExamples() {
    return 100; // every write is a commit with an fsync on a shared machine: the model still sees ~2,000 operations
  }

  @Test
  void aTransactionThatLosesARaceRunsAgainAndLosesNothing() throws Exception {
    storage.put("n", encode(0));
    CyclicBarrier bothRead = new CyclicBarrier(2);
    AtomicInteger runs = new AtomicInteger();
    Callable<Void> increment = () -> {
      storage.atomically(ops -> {
        long n = decode(ops.get("n").orElseThrow());
        if (runs.incrementAndGet() <= 2) {
          try {
            bothRead.await(10, TimeUnit.SECONDS); // the first run of each has read 0 before either writes
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }
        ops.put("n", encode(n + 1));
        return null;
      });
      return null;
    };
    ExecutorService two = Executors.newFixedThreadPool(2);
    try {
      Future<Void> a = two.submit(increment);
      Future<Void> b = two.submit(increment);
      a.get(30, TimeUnit.SECONDS);
      b.get(30, TimeUnit.SECONDS);
    } finally {
      two.shutdownNow();
    }
    assertEquals(2, decode(storage.get("n").orElseThrow()), "neither increment was lost");
    assertTrue(runs.get() >= 3, "the loser ran again: " + runs.get() + " runs");
  }

  @Test
  void kindIsPostgresql() {
    assertEquals("postgresql", storage.kind());
  }
}
