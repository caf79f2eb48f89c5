package dev.keywarden.storage;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.storage.testing.PostgresServer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The periodic-work lease: one node of those sharing a PostgreSQL holds it; when the holder goes (closed, cut off,
 * or gives it up on seal) another takes it within 15 s. On SQLite the single node always holds it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PostgresLeaseTest {
  private static PostgresServer server;
  private static String url;

  @BeforeAll
  static void startServer() {
    server = PostgresServer.start();
    url = server.createDatabase("lease");
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  private static PostgresStorage node() {
    return PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null));
  }

  private static long within(long seconds, BooleanSupplier done, String what) throws InterruptedException {
    long t0 = System.nanoTime();
    while (!done.getAsBoolean()) {
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(seconds), what + " not within " + seconds + " s");
      Thread.sleep(20);
    }
    return (System.nanoTime() - t0) / 1_000_000;
  }

  @Test
  void oneNodeHoldsTheLeaseAndAnotherTakesItOverWhenItGoes() throws Exception {
    PostgresStorage a = node();
    try (PostgresStorage b = node(); PostgresStorage c = node()) {
      WorkLease la = a.lease("periodic-work");
      la.want(true);
      within(5, la::held, "the first node's lease");
      WorkLease lb = b.lease("periodic-work");
      WorkLease lc = c.lease("periodic-work");
      lb.want(true);
      lc.want(true);
      Thread.sleep(2 * PostgresLease.PERIOD_MILLIS);
      assertTrue(la.held());
      assertFalse(lb.held() || lc.held(), "two nodes hold the lease");

      // the holder dies: its connections close, PostgreSQL frees the lock, one of the others takes it
      a.close();
      long died = within(15, () -> lb.held() || lc.held(), "a takeover after the holder died");
      assertFalse(lb.held() && lc.held(), "two nodes hold the lease");

      // the new holder seals: it gives the lease up at once, and the last node takes it
      WorkLease holder = lb.held() ? lb : lc;
      WorkLease other = holder == lb ? lc : lb;
      holder.want(false);
      assertFalse(holder.held(), "a sealed node still holds the lease");
      long sealed = within(15, other::held, "a takeover after the holder sealed");

      // the holder's lease connection is cut: it knows it holds nothing, and someone holds it again
      holder.want(true);
      int cut = server.terminate(PostgresLease.APPLICATION);
      assertTrue(cut >= 1);
      Thread.sleep(PostgresLease.HEARTBEAT_MILLIS + 500); // both have noticed by now
      long back = within(15, () -> lb.held() || lc.held(), "a holder after the lease connections were cut");
      Thread.sleep(PostgresLease.PERIOD_MILLIS + 500);
      assertTrue(lb.held() ^ lc.held(), "not exactly one node holds the lease");
      System.out.println("lease: taken over " + died + " ms after the holder died, " + sealed
          + " ms after it sealed, held again " + (back + PostgresLease.HEARTBEAT_MILLIS + 500)
          + " ms after the lease connections were cut");
    } finally {
      a.close();
    }
  }

  @Test
  void onSqliteTheOnlyNodeAlwaysHoldsIt(@TempDir Path dir) {
    try (SqliteStorage s = SqliteStorage.open(dir)) {
      assertTrue(s.lease("periodic-work").held());
    }
  }
}
