package dev.keywarden.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.keywarden.storage.testing.PostgresServer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cache that watches its prefix forgets what another writer changed: on SQLite a write that did not go through the
 * engine owning the cache, on PostgreSQL a write by a second node sharing the database.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReadThroughCacheFeedTest {
  private static PostgresServer server;
  private static String url;

  @BeforeAll
  static void startServer() {
    server = PostgresServer.start();
    url = server.createDatabase("cachefeed");
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  private static String read(Storage s, String key) {
    return s.get(key).map(e -> new String(e.value(), UTF_8)).orElse(null);
  }

  /** Reads through {@code cache} until it gives {@code want}, at most 1 s; returns the milliseconds it took. */
  private static long seenWithin1s(ReadThroughCache<String, String> cache, Storage s, String name, String want)
      throws InterruptedException {
    long t0 = System.nanoTime();
    while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1)) {
      if (want.equals(cache.get(name, n -> read(s, "roles/" + n)))) {
        return (System.nanoTime() - t0) / 1_000_000;
      }
      Thread.sleep(5);
    }
    assertEquals(want, cache.get(name, n -> read(s, "roles/" + n)), "the cache still serves the old value after 1 s");
    return -1;
  }

  @Test
  void onSqliteAWriteThatBypassedTheOwnerIsForgotten(@TempDir Path dir) throws Exception {
    try (SqliteStorage s = SqliteStorage.open(dir)) {
      s.put("roles/web", "v1".getBytes(UTF_8));
      AtomicInteger loads = new AtomicInteger();
      ReadThroughCache<String, String> cache = new ReadThroughCache<String, String>()
          .watching(s, "roles/", name -> name);
      assertEquals("v1", cache.get("web", n -> {
        loads.incrementAndGet();
        return read(s, "roles/" + n);
      }));
      assertEquals("v1", cache.get("web", n -> {
        loads.incrementAndGet();
        return read(s, "roles/" + n);
      }));
      assertEquals(1, loads.get(), "the second read came from the cache");
      s.put("roles/web", "v2".getBytes(UTF_8));
      seenWithin1s(cache, s, "web", "v2");
      s.put("other/web", "x".getBytes(UTF_8)); // not under the prefix: nothing to forget
      loads.set(0);
      cache.get("web", n -> {
        loads.incrementAndGet();
        return read(s, "roles/" + n);
      });
      assertEquals(0, loads.get(), "a change under another prefix made the cache forget");
      cache.stopWatching();
    }
  }

  @Test
  void onPostgresqlAChangeOnAnotherNodeReachesThisNodesCacheWithinASecond() throws Exception {
    try (PostgresStorage a = PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null));
        PostgresStorage b = PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null))) {
      b.put("roles/db", "v1".getBytes(UTF_8));
      ReadThroughCache<String, String> cache = new ReadThroughCache<String, String>()
          .watching(a, "roles/", name -> name);
      assertEquals("v1", cache.get("db", n -> read(a, "roles/" + n)));
      long worst = 0;
      for (int i = 2; i <= 20; i++) {
        b.put("roles/db", ("v" + i).getBytes(UTF_8));
        worst = Math.max(worst, seenWithin1s(cache, a, "db", "v" + i));
      }
      b.delete("roles/db");
      long t0 = System.nanoTime();
      while (cache.get("db", n -> read(a, "roles/" + n)) != null
          && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1)) {
        Thread.sleep(5);
      }
      assertEquals(null, cache.get("db", n -> read(a, "roles/" + n)), "a role deleted on node B is still cached on A");
      System.out.println("cache on node A saw node B's change within " + worst + " ms (worst of 19)");
      cache.stopWatching();
    }
  }
}
