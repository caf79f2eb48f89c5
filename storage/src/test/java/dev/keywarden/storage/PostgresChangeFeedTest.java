package dev.keywarden.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.storage.StorageContractTest.Recorder;
import dev.keywarden.storage.testing.PostgresServer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The PostgreSQL change feed between nodes and through faults: two PostgresStorage instances on one database stand
 * for two nodes. This class has a PostgreSQL of its own, since it stops and terminates it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PostgresChangeFeedTest {
  private static PostgresServer server;
  private static String url;
  private PostgresStorage first;
  private PostgresStorage second;

  @BeforeAll
  static void startServer() {
    server = PostgresServer.start();
    System.out.println("test PostgreSQL (own) started in " + server.startMillis() + " ms");
    url = server.createDatabase("feed");
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  @BeforeEach
  void openTwoNodes() {
    first = open();
    second = open();
  }

  @AfterEach
  void closeNodes() {
    first.close();
    second.close();
  }

  private static PostgresStorage open() {
    return PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null));
  }

  @Test
  void anotherNodesWritesReachOurWatchers() throws Exception {
    int changes = 200;
    Map<String, Long> heardAt = new ConcurrentHashMap<>();
    Recorder unrelated = new Recorder();
    try (StorageWatch w = first.watch("n/", new StorageListener() {
          @Override
          public void changed(String key) {
            heardAt.put(key, System.nanoTime());
          }

          @Override
          public void reset() {}
        });
        StorageWatch u = first.watch("other/", unrelated)) {
      long[] writtenAt = new long[changes];
      for (int i = 0; i < changes; i++) {
        writtenAt[i] = System.nanoTime();
        second.put("n/" + i, "v".getBytes(UTF_8));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (heardAt.size() < changes && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(changes, heardAt.size(), "every change of the other node arrived");
      long[] delays = new long[changes];
      for (int i = 0; i < changes; i++) {
        delays[i] = heardAt.get("n/" + i) - writtenAt[i];
      }
      Arrays.sort(delays);
      System.out.printf("change feed, another node's put to our watcher (from the put call, commit included), %d "
          + "changes: p50 %.2f ms, p99 %.2f ms, max %.2f ms%n", changes, delays[changes / 2] / 1e6,
          delays[changes * 99 / 100] / 1e6, delays[changes - 1] / 1e6);
      assertTrue(delays[changes / 2] < TimeUnit.SECONDS.toNanos(1), "p50 under a second");
      assertEquals(List.of(), List.copyOf(unrelated.events));
    }
  }

  @Test
  void ownWritesAreDeliveredToo() throws Exception {
    Recorder r = new Recorder();
    try (StorageWatch w = first.watch("", r)) {
      first.put("mine", "v".getBytes(UTF_8));
      second.put("theirs", "v".getBytes(UTF_8));
      assertEquals(List.of("mine"), r.until("theirs"));
    }
  }

  @Test
  void aKeyTooLongForANotificationResetsTheWatchersOfItsPrefix() throws Exception {
    Recorder longKeys = new Recorder();
    Recorder elsewhere = new Recorder();
    Recorder all = new Recorder();
    String key = "long/" + "é".repeat(5_000); // 10,005 bytes of UTF-8
    try (StorageWatch a = first.watch("long/", longKeys); StorageWatch b = first.watch("other/", elsewhere);
        StorageWatch c = first.watch("", all)) {
      second.put(key, "v".getBytes(UTF_8));
      second.put("end", "v".getBytes(UTF_8));
      assertEquals(List.of(Recorder.RESET), all.until("end"));
      assertEquals(List.of(Recorder.RESET), List.copyOf(longKeys.events));
      assertEquals(List.of(), List.copyOf(elsewhere.events));
    }
  }

  @Test
  void payloadsStayUnderTheNotificationLimit() {
    assertEquals("k:a/b", PostgresStorage.payload("a/b"));
    String fits = "x".repeat(PostgresStorage.MAX_PAYLOAD_BYTES - 2);
    assertEquals("k:" + fits, PostgresStorage.payload(fits));
    String cut = PostgresStorage.payload("é".repeat(4_000) + "tail");
    assertTrue(cut.startsWith("p:é"));
    assertTrue(cut.getBytes(UTF_8).length <= PostgresStorage.MAX_PAYLOAD_BYTES, "under the limit");
    assertEquals("é".repeat((PostgresStorage.MAX_PAYLOAD_BYTES - 2) / 2), cut.substring(2), "whole characters");
    String emoji = PostgresStorage.payload("😀".repeat(3_000));
    assertEquals(0, (emoji.length() - 2) % 2, "no half of a surrogate pair");
  }

  @Test
  void aTerminatedListenerConnectionResetsWatchersAndChangesStillArrive() throws Exception {
    Recorder r = new Recorder();
    try (StorageWatch w = first.watch("", r)) {
      assertTrue(w.live());
      assertTrue(server.terminateListeners() >= 2, "both nodes' listeners");
      assertEquals(List.of(), r.until(Recorder.RESET), "reset when the connection was lost");
      assertEquals(List.of(), r.until(Recorder.RESET), "reset again once it listens again");
      assertTrue(w.live());
      second.put("after", "v".getBytes(UTF_8));
      assertEquals(List.of(), r.until("after"));
    }
  }

  @Test
  void whilePostgresqlIsDownCallsFailUnavailableAndTheFeedRecoversOnItsOwn() throws Exception {
    Recorder r = new Recorder();
    try (StorageWatch w = first.watch("", r)) {
      first.put("before", "v".getBytes(UTF_8));
      assertEquals(List.of(), r.until("before"));
      server.stopServer();
      try {
        assertEquals(List.of(), r.until(Recorder.RESET), "reset when the connection was lost");
        assertFalse(w.live(), "not live while the feed reconnects");
        long started = System.nanoTime();
        KeywardenException e = assertThrows(KeywardenException.class,
            () -> first.put("during", "v".getBytes(UTF_8)));
        System.out.printf("a write while PostgreSQL was down failed after %d ms: %s%n",
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), e.getMessage());
        assertEquals(KeywardenException.Kind.UNAVAILABLE, e.kind());
        assertTrue(e.getMessage().startsWith("storage error: "), e.getMessage());
        assertEquals(KeywardenException.Kind.UNAVAILABLE,
            assertThrows(KeywardenException.class, () -> first.get("before")).kind());
        assertEquals(KeywardenException.Kind.UNAVAILABLE,
            assertThrows(KeywardenException.class, () -> first.atomically(ops -> ops.get("before"))).kind());
        // the pool and the feed both failed: further calls fail at once, without waiting for the pool
        KeywardenException fast = assertThrows(KeywardenException.class, () -> first.get("before"));
        assertEquals(KeywardenException.Kind.UNAVAILABLE, fast.kind());
        assertTrue(fast.getMessage().contains("cannot be reached now"), fast.getMessage());
        Thread.sleep(2_000);
      } finally {
        server.startServer();
      }
      long restarted = System.nanoTime();
      assertEquals(List.of(), r.until(Recorder.RESET), "reset again once it listens again");
      System.out.printf("the feed listened again %d ms after PostgreSQL was back%n",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restarted));
      assertTrue(w.live());
      // the same PostgresStorage instances serve again, once their pools have connected again (until then calls
      // fail UNAVAILABLE, as during the outage)
      assertEquals("v", new String(eventually(() -> first.get("before")).orElseThrow().value(), UTF_8));
      System.out.printf("calls served again %d ms after PostgreSQL was back%n",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restarted));
      eventually(() -> {
        second.put("after", "v".getBytes(UTF_8));
        return null;
      });
      assertEquals(List.of(), r.until("after"));
      first.put("mine-after", "v".getBytes(UTF_8));
      assertEquals(List.of(), r.until("mine-after"));
    }
  }

  /** {@code call}'s result once it stops failing UNAVAILABLE; fails after 20 s. */
  private static <T> T eventually(java.util.function.Supplier<T> call) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try {
        return call.get();
      } catch (KeywardenException e) {
        assertEquals(KeywardenException.Kind.UNAVAILABLE, e.kind(), e.getMessage());
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }
}
