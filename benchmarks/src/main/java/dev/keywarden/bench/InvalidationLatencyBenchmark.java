package dev.keywarden.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.keywarden.storage.PostgresSettings;
import dev.keywarden.storage.PostgresStorage;
import dev.keywarden.storage.ReadThroughCache;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageListener;
import dev.keywarden.storage.StorageWatch;
import dev.keywarden.storage.testing.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Issue #14's invalidation latency: from a write's commit on one node to the cache drop on another, over 1,000
 * changes, on a throw-away PostgreSQL (Debian's, as the tests start it) with two {@link PostgresStorage} nodes; a
 * {@link ReadThroughCache} on node A watches the prefix, node B writes. The clock starts when B's put returns (the
 * commit is done) and stops when A's feed listener runs. Target: p99 < 100 ms on loopback.
 * Args: [report (benchmarks/results/invalidation.md)] [changes (1000)].
 */
public final class InvalidationLatencyBenchmark {
  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "benchmarks/results/invalidation.md");
    int changes = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    try (PostgresServer server = PostgresServer.start()) {
      String url = server.createDatabase("bench");
      try (PostgresStorage a = PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null));
          PostgresStorage b = PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null))) {
        BlockingQueue<Long> heard = new ArrayBlockingQueue<>(changes + 16);
        ReadThroughCache<String, String> cache = new ReadThroughCache<String, String>()
            .watching(a, "bench/", name -> name);
        try (StorageWatch w = a.watch("bench/", new StorageListener() {
          @Override
          public void changed(String key) {
            heard.offer(System.nanoTime());
          }

          @Override
          public void reset() {}
        })) {
          for (int i = 0; i < 100; i++) { // warm-up: connections, JIT
            b.put("bench/warm", Integer.toString(i).getBytes(UTF_8));
            heard.poll(5, TimeUnit.SECONDS);
          }
          long[] micros = new long[changes];
          for (int i = 0; i < changes; i++) {
            cache.get("role", n -> read(a, "bench/" + n));
            b.put("bench/role", ("v" + i).getBytes(UTF_8));
            long committed = System.nanoTime();
            Long at = heard.poll(5, TimeUnit.SECONDS);
            if (at == null) {
              throw new IllegalStateException("change " + i + " was not heard within 5 s");
            }
            micros[i] = Math.max(0, (at - committed) / 1000);
          }
          cache.stopWatching();
          Arrays.sort(micros);
          String report = report(changes, micros, server.startMillis());
          System.out.println(report);
          Files.createDirectories(out.toAbsolutePath().getParent());
          Files.writeString(out, report);
          System.out.println("written to " + out);
        }
      }
    }
    System.exit(0);
  }

  private static String read(Storage s, String key) {
    return s.get(key).map(e -> new String(e.value(), UTF_8)).orElse(null);
  }

  private static String report(int n, long[] micros, long startMillis) {
    double p50 = micros[n / 2] / 1000.0;
    double p99 = micros[Math.min(n - 1, (int) Math.ceil(n * 0.99) - 1)] / 1000.0;
    double max = micros[n - 1] / 1000.0;
    return "# Cache invalidation across nodes (PostgreSQL change feed)\n\n"
        + "- Date: " + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME) + "\n"
        + "- CPU: " + GrpcLoadBenchmark.cpuModel() + "; cores: " + Runtime.getRuntime().availableProcessors() + "\n"
        + "- Setup: Debian's PostgreSQL started for the run (" + startMillis + " ms), two PostgresStorage nodes in one "
        + "JVM on loopback; node B puts, node A's feed listener (one LISTEN connection) hears it; from B's put "
        + "returning (committed) to A's listener running.\n\n"
        + "| Changes | p50 | p99 | max | Target | Met |\n|---:|---:|---:|---:|---|:---:|\n"
        + String.format(Locale.ROOT, "| %,d | %.2f ms | %.2f ms | %.2f ms | p99 < 100 ms | %s |%n", n, p50, p99, max,
            p99 < 100 ? "yes" : "**no**");
  }
}
