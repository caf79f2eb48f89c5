package dev.keywarden.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.keywarden.hsm.KeyType;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.pki.Role;
import dev.keywarden.storage.PostgresSettings;
import dev.keywarden.storage.PostgresStorage;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.testing.PostgresServer;
import dev.keywarden.transit.KeyringConfig;
import dev.keywarden.transit.TransitEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * Issue #14's write rates: the engines' stored operations (transit CreateKey and Rotate, PKI SignCsr with the
 * certificate stored) on PostgreSQL beside SQLite, and transit Encrypt, whose hot path never touches storage, on both
 * (it should not change). Each backend gets its own SoftHSM2 token (SOFTHSM2_CONF must point at a token directory;
 * `make bench` sets it) and an unsealed core; PostgreSQL is Debian's, started for the run (default settings: fsync
 * and synchronous_commit on). {@value #THREADS} caller threads, two untimed warm-up seconds, then a timed window per
 * operation. Args: [report (benchmarks/results/stored-writes.md)] [seconds per operation (4)].
 */
public final class StoredWritesBenchmark {
  static final int THREADS = 4;
  /** Untimed calls first: JIT, pgjdbc's server-side prepared statements (after 5 uses), pool and page cache. */
  static final long WARMUP_MILLIS = 2_000;

  /** One operation, called by many threads at once; {@code i} is unique per call. */
  private interface Operation {
    void run(int i) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "benchmarks/results/stored-writes.md");
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    Map<String, Map<String, Double>> rates = new LinkedHashMap<>(); // operation -> backend -> per second
    long pgStart;
    try (PostgresServer server = PostgresServer.start()) {
      pgStart = server.startMillis();
      String url = server.createDatabase("bench");
      Path sqlite = Files.createTempDirectory("kw-bench-writes-");
      try {
        measure("SQLite", SqliteStorage.open(sqlite), seconds, rates);
      } finally {
        BenchCore.deleteTree(sqlite);
      }
      measure("PostgreSQL", PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null)), seconds,
          rates);
    }
    String report = report(rates, seconds, pgStart);
    System.out.println(report);
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, report);
    System.out.println("written to " + out);
    System.exit(0);
  }

  private static void measure(String backend, Storage storage, int seconds, Map<String, Map<String, Double>> rates)
      throws Exception {
    try (BenchCore bench = new BenchCore(storage)) {
      TransitEngine transit = new TransitEngine(bench.core, Clock.systemUTC(), bench.random);
      PkiEngine pki = new PkiEngine(bench.core, Clock.systemUTC(), bench.random);
      KeyringConfig plain = new KeyringConfig(false, false, false, 0, 1, 1);
      transit.createKey("hot", dev.keywarden.transit.KeyType.AES256_GCM96, plain);
      for (int k = 0; k < 16; k++) {
        transit.createKey("rotating-" + k, dev.keywarden.transit.KeyType.AES256_GCM96, plain);
      }
      pki.generateRoot("Bench Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
      pki.writeRole(Role.fromJson("{\"name\":\"stored\",\"allowed_domains\":[\"example.com\"],"
          + "\"allow_subdomains\":true,\"server_flag\":true,\"ttl\":\"1h\",\"max_ttl\":\"1h\",\"no_store\":false}"));
      byte[] csr = csr();
      byte[] plaintext = "sixty-four bytes of plaintext, as a card number and its metadata".getBytes(UTF_8);
      AtomicInteger names = new AtomicInteger();
      put(rates, "Transit CreateKey (aes256-gcm96)", backend, rate(seconds,
          i -> transit.createKey("k-" + names.incrementAndGet(), dev.keywarden.transit.KeyType.AES256_GCM96, plain)));
      put(rates, "Transit Rotate", backend, rate(seconds, i -> transit.rotate("rotating-" + (i % 16))));
      put(rates, "PKI SignCsr (stored, ec-p256 CA in SoftHSM2)", backend, rate(seconds,
          i -> pki.signCsr("stored", csr, Optional.empty(), Optional.empty())));
      put(rates, "Transit Encrypt (64 B, cached key)", backend, rate(seconds,
          i -> transit.encrypt("hot", plaintext, null)));
    }
  }

  private static void put(Map<String, Map<String, Double>> rates, String op, String backend, double perSecond) {
    rates.computeIfAbsent(op, k -> new LinkedHashMap<>()).put(backend, perSecond);
    System.out.printf(Locale.ROOT, "%s on %s: %,.0f/s%n", op, backend, perSecond);
  }

  /** Calls per second of {@code op} by {@link #THREADS} threads over {@code seconds}, after the warm-up. */
  private static double rate(int seconds, Operation op) throws Exception {
    AtomicInteger next = new AtomicInteger();
    AtomicLong done = new AtomicLong();
    AtomicBoolean timing = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      Thread thread = new Thread(() -> {
        while (!stop.get()) {
          try {
            op.run(next.getAndIncrement());
            if (timing.get()) {
              done.incrementAndGet();
            }
          } catch (Throwable e) {
            failures.add(e);
            return;
          }
        }
      });
      thread.start();
      threads.add(thread);
    }
    Thread.sleep(WARMUP_MILLIS);
    timing.set(true);
    long start = System.nanoTime();
    Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
    timing.set(false);
    long elapsed = System.nanoTime() - start;
    stop.set(true);
    for (Thread t : threads) {
      t.join();
    }
    if (!failures.isEmpty()) {
      throw new IllegalStateException("the benchmarked operation failed", failures.get(0));
    }
    return done.get() * 1e9 / elapsed;
  }

  private static byte[] csr() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair key = g.generateKeyPair();
    return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=api.example.com"), key.getPublic())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())).getEncoded();
  }

  private static String report(Map<String, Map<String, Double>> rates, int seconds, long pgStartMillis) {
    StringBuilder s = new StringBuilder("# Stored writes and Encrypt: PostgreSQL beside SQLite\n\n")
        .append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n')
        .append("- CPU: ").append(GrpcLoadBenchmark.cpuModel()).append("; cores: ")
        .append(Runtime.getRuntime().availableProcessors()).append('\n')
        .append("- Setup: engines in one JVM over an unsealed core with a SoftHSM2 token per backend; SQLite in a temp ")
        .append("dir (WAL, fsync on commit, group commit); Debian's PostgreSQL started for the run (")
        .append(pgStartMillis).append(" ms; default settings, fsync and synchronous_commit on) on loopback, a ")
        .append("pool of ").append(PostgresSettings.DEFAULT_POOL_SIZE).append(" connections; ").append(THREADS)
        .append(" caller threads, ").append(WARMUP_MILLIS / 1000).append(" s warm-up, ").append(seconds)
        .append(" s timed per operation.\n\n")
        .append("| Operation | SQLite | PostgreSQL | PostgreSQL / SQLite |\n|---|---:|---:|---:|\n");
    rates.forEach((op, byBackend) -> {
      double sqlite = byBackend.getOrDefault("SQLite", 0.0);
      double pg = byBackend.getOrDefault("PostgreSQL", 0.0);
      s.append(String.format(Locale.ROOT, "| %s | %,.0f/s | %,.0f/s | %.2f× |%n", op, sqlite, pg,
          sqlite == 0 ? 0 : pg / sqlite));
    });
    return s.toString();
  }
}
