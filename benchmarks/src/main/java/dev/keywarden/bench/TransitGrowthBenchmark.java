package dev.keywarden.bench;

import static dev.keywarden.bench.GrowthReport.ms;
import static dev.keywarden.bench.GrowthReport.n;
import static dev.keywarden.bench.GrowthReport.s;

import dev.keywarden.transit.BulkKeyrings;
import dev.keywarden.transit.TransitEngine;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Issue #15, cost as the data grows, transit: 10, 1,000 and 100,000 keyrings, each set in its own SQLite store and
 * SoftHSM2 token. Per set: the time to write it (through {@link BulkKeyrings}, 1,000 keyrings per transaction),
 * unseal-to-serving after a restart (unseal, then the first Encrypt of a random key), the heap of the loaded
 * keyrings (each key used once: loaded, unwrapped, its first nonces reserved), and the unary Encrypt 1 KiB rate
 * of the engine on a key chosen at random among all of them, 2 threads, rounds interleaved across the three sets so
 * a busy moment on the machine hits all of them alike. Target: the rate at 100,000 ≥ 0.8× the rate at 10.
 * Args: [report (benchmarks/results/transit-growth.md)] [sizes (10,1000,100000)] [round seconds (2)] [rounds (5)].
 */
public final class TransitGrowthBenchmark {
  private static final int BATCH = 1000;
  /** The warm-up of one set (every key used once) gives up past this. */
  private static final long WARM_UP_LIMIT_S = 600;

  private record Set(int size, BenchCore bench, TransitEngine engine, double buildS, double unsealMs,
      double firstEncryptMs, double warmS, long heapBytes, List<Double> rates, List<Double> cpuRates) {}

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "benchmarks/results/transit-growth.md");
    int[] sizes = java.util.Arrays.stream((args.length > 1 ? args[1] : "10,1000,100000").split(","))
        .mapToInt(Integer::parseInt).toArray();
    double roundS = args.length > 2 ? Double.parseDouble(args[2]) : 2;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
    String machine = GrowthReport.machine();
    List<String> tokens = new ArrayList<>(); // all first: SoftHSM2 sees no token made after it was loaded
    for (int size : sizes) {
      tokens.add(BenchCore.newToken());
    }
    List<Set> sets = new ArrayList<>();
    for (int i = 0; i < sizes.length; i++) {
      sets.add(build(sizes[i], tokens.get(i)));
    }
    byte[] plaintext = new byte[1024];
    for (Set set : sets) {
      rate(set, plaintext, 1); // warm the code paths on every set
    }
    for (int r = 0; r < rounds; r++) {
      for (Set set : sets) {
        double[] rate = rate(set, plaintext, roundS);
        set.rates().add(rate[0]);
        set.cpuRates().add(rate[1]);
      }
    }
    String report = report(machine, sets, roundS, rounds);
    for (Set set : sets) {
      set.bench().close();
      set.bench().deleteFiles();
    }
    GrowthReport.write(out, report);
    System.exit(0);
  }

  private static Set build(int size, String token) throws Exception {
    BenchCore bench = new BenchCore("kw-growth-transit-", token);
    long t0 = System.nanoTime();
    BulkKeyrings.write(bench.core, bench.random, size, BATCH, TransitGrowthBenchmark::name);
    double buildS = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "%,d keyrings written in %.1f s%n", size, buildS);

    bench.restartSealed();
    TransitEngine engine = new TransitEngine(bench.core, Clock.systemUTC(), bench.random);
    long heapBefore = GrowthReport.usedHeap();
    long u0 = System.nanoTime();
    bench.unseal();
    long u1 = System.nanoTime();
    engine.encryptAscii(name(ThreadLocalRandom.current().nextInt(size)), new byte[1024], null);
    long u2 = System.nanoTime();

    // every key used once, 32 at a time so their first reservations share commits (the server's callers would)
    long w0 = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(32);
    AtomicInteger next = new AtomicInteger();
    List<Future<?>> workers = new ArrayList<>();
    for (int t = 0; t < 32; t++) {
      workers.add(pool.submit(() -> {
        for (int i = next.getAndIncrement(); i < 2 * size; i = next.getAndIncrement()) {
          // twice: the first use loads the key and reserves its first nonces; that write's notice on the change
          // feed marks the keyring changed, so the second use reads it again (once) — then it is steady
          engine.encryptAscii(name(i % size), new byte[16], null);
          if (System.nanoTime() - w0 > TimeUnit.SECONDS.toNanos(WARM_UP_LIMIT_S)) {
            throw new IllegalStateException("warm-up of " + size + " keys took over " + WARM_UP_LIMIT_S + " s");
          }
        }
        return null;
      }));
    }
    for (Future<?> w : workers) {
      w.get();
    }
    pool.shutdown();
    double warmS = (System.nanoTime() - w0) / 1e9;
    long heap = GrowthReport.usedHeap() - heapBefore;
    System.out.printf(Locale.ROOT, "%,d keyrings: unseal %.1f ms, first encrypt %.1f ms, all used twice in %.1f s,"
        + " heap %,d B%n", size, (u1 - u0) / 1e6, (u2 - u1) / 1e6, warmS, heap);
    return new Set(size, bench, engine, buildS, (u1 - u0) / 1e6, (u2 - u1) / 1e6, warmS, heap, new ArrayList<>(),
        new ArrayList<>());
  }

  /**
   * Encrypts/s over {@code seconds}, 2 threads, each call on a key chosen at random among the set's; and encrypts per
   * second of the threads' own CPU time, which other work on a shared machine does not dilute (it still shares the
   * caches).
   */
  private static double[] rate(Set set, byte[] plaintext, double seconds) throws Exception {
    LongAdder done = new LongAdder();
    LongAdder cpuNanos = new LongAdder();
    java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    Thread[] threads = new Thread[2];
    for (int t = 0; t < threads.length; t++) {
      threads[t] = new Thread(() -> {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long cpu0 = cpu.getCurrentThreadCpuTime();
        while (System.nanoTime() < end) {
          for (int i = 0; i < 256; i++) {
            // a fresh name per call, as the server decodes one from each request: hot in cache, its hash computed
            // here; the cache's own entry and key String are what a cold lookup misses on, as in the server
            set.engine().encryptAscii(name(random.nextInt(set.size())), plaintext, null);
          }
          done.add(256);
        }
        cpuNanos.add(cpu.getCurrentThreadCpuTime() - cpu0);
      });
      threads[t].start();
    }
    long t0 = System.nanoTime();
    for (Thread t : threads) {
      t.join();
    }
    return new double[] {done.sum() / ((System.nanoTime() - t0) / 1e9), done.sum() / (cpuNanos.sum() / 1e9)};
  }

  private static String name(int i) {
    return "key-" + i;
  }

  private static String report(String machine, List<Set> sets, double roundS, int rounds) {
    double base = GrowthReport.median(sets.get(0).rates().stream().mapToDouble(Double::doubleValue).toArray());
    double cpuBase = GrowthReport.median(sets.get(0).cpuRates().stream().mapToDouble(Double::doubleValue).toArray());
    StringBuilder b = new StringBuilder("# Transit as the number of keyrings grows\n\n").append(machine)
        .append("- Setup: per size, its own SQLite store and SoftHSM2 token; keyrings (aes256-gcm96, each its own key"
            + " wrapped by the KEK in SoftHSM2, the engine's Keyring JSON) written by BulkKeyrings, ")
        .append(BATCH).append(" per storage transaction; then a restart (new Core and TransitEngine, storage"
            + " reopened): unseal, then one Encrypt of a random key; then every key used twice (32 threads; the first use loads the key and reserves its first nonces, the second reads it again once, as the change feed reports that reservation) before"
            + " heap is read; Encrypt 1 KiB through TransitEngine.encryptAscii, 2 threads, a key drawn at random"
            + " among all for every call, ").append(rounds).append(" rounds of ").append(roundS)
        .append(" s interleaved across the sizes, median shown; also per second of the encrypting threads' own"
            + " CPU time (on a shared machine the wall-clock rate follows the other load, the CPU rate much less).\n\n")
        .append("| Keyrings | written in | unseal | first Encrypt after unseal | every key used twice | heap per loaded"
            + " keyring | Encrypt 1 KiB, random key | vs 10 keys | per CPU-second | vs 10 keys (CPU) | Target"
            + " | Met |\n")
        .append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|:---:|\n");
    for (Set set : sets) {
      double[] r = set.rates().stream().mapToDouble(Double::doubleValue).toArray();
      double rate = GrowthReport.median(r);
      double ratio = rate / base;
      double cpuRate = GrowthReport.median(set.cpuRates().stream().mapToDouble(Double::doubleValue).toArray());
      boolean target = set != sets.get(0) && set.size() >= 100_000;
      b.append("| ").append(n(set.size())).append(" | ").append(s(set.buildS())).append(" | ")
          .append(ms(set.unsealMs())).append(" | ").append(ms(set.firstEncryptMs())).append(" | ")
          .append(s(set.warmS())).append(" | ")
          .append(set.size() >= 1000 ? n(set.heapBytes() / set.size()) + " B" : "(too few to measure)")
          .append(" | ").append(n(Math.round(rate))).append("/s (rounds ")
          .append(String.join(", ", set.rates().stream().map(x -> n(Math.round(x))).toList())).append(")")
          .append(" | ").append(String.format(Locale.ROOT, "%.2f×", ratio)).append(" | ")
          .append(n(Math.round(cpuRate))).append("/s | ")
          .append(String.format(Locale.ROOT, "%.2f×", cpuRate / cpuBase)).append(" | ")
          .append(target ? "≥ 0.8× the rate at 10" : "").append(" | ")
          .append(target ? (ratio >= 0.8 ? "yes" : "**no**") : "").append(" |\n");
    }
    b.append("\nUnseal reads no keyring (NonceReservationTest.unsealReadsNoKeyringAndAKeyIsLoadedOnItsFirstUse): a key"
        + " is read, unwrapped and given its first nonces (one storage write) on its first use, so unseal costs the"
        + " same at every size and the first use of each key pays once.\n");
    return b.toString();
  }
}
