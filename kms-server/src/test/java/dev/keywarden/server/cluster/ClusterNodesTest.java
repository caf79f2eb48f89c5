package dev.keywarden.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Servers sharing a store see each other's heartbeats: sealed or not, who holds the lease, who went quiet. */
class ClusterNodesTest {
  @TempDir
  Path dir;

  @Test
  void eachServerSeesEveryHeartbeatItselfFirstAndAQuietOneAsStale() {
    MutableClock clock = MutableClock.stoppedAt(Instant.parse("2026-11-30T12:00:00Z"));
    AtomicBoolean bSealed = new AtomicBoolean(true);
    try (SqliteStorage storage = SqliteStorage.open(dir);
        ClusterNodes a = new ClusterNodes(storage, clock, "a:8400", "10.0.0.1:8400", "1.0", () -> false, () -> true);
        ClusterNodes b = new ClusterNodes(storage, clock, "b:8400", "10.0.0.2:8400", "1.0", bSealed::get,
            () -> false)) {
      a.beat();
      b.beat();
      List<ClusterNodes.Node> fromB = b.nodes();
      assertEquals(List.of("b:8400", "a:8400"), fromB.stream().map(ClusterNodes.Node::node).toList());
      assertTrue(fromB.get(0).sealed());
      assertTrue(fromB.get(1).holdsLease());
      assertFalse(a.stale(fromB.get(1)));

      b.close(); // b stops beating
      clock.advance(Duration.ofSeconds(20));
      a.beat();
      List<ClusterNodes.Node> fromA = a.nodes();
      assertFalse(a.stale(fromA.get(0)));
      assertTrue(a.stale(fromA.get(1)), "a server silent for 20 s is not shown as stale");

      clock.advance(Duration.ofDays(2));
      a.beat();
      assertEquals(List.of("a:8400"), a.nodes().stream().map(ClusterNodes.Node::node).toList(),
          "a row older than a day is not removed");
    }
  }
}
