package dev.keywarden.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Process CPU per operation of {@link PkiSignBenchmark}'s operations as the number of threads calling at once grows
 * (1, 2, 8, 64 by default), in interleaved rounds: what many callers at once add to each issuance (contention,
 * context switches), the engine alone, no gRPC. Usage: {@code PkiThreadsCost [OUT.md [ROUNDS [SECONDS [THREADS,...]]]]};
 * needs SOFTHSM2_CONF.
 */
public final class PkiThreadsCost {
  private PkiThreadsCost() {}

  public static void main(String[] args) throws Exception {
    java.nio.file.Path out = args.length > 0 && !args[0].equals("-") ? java.nio.file.Path.of(args[0]) : null;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 2;
    int[] counts = args.length > 3 ? Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray()
        : new int[] {1, 2, 8, 64};
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    PkiSignBenchmark b = new PkiSignBenchmark();
    b.setUp();
    try {
      Map<String, Runnable> work = b.operations();
      String only = System.getProperty("keywarden.bench.ops", "");
      if (!only.isEmpty()) {
        work.keySet().retainAll(java.util.Set.of(only.split(",")));
      }
      Map<String, List<double[]>> results = new LinkedHashMap<>(); // key "op@threads" -> [cpu µs/op, ops/s]
      for (int round = -1; round < rounds; round++) { // round -1: warm-up
        for (int threads : counts) {
          for (Map.Entry<String, Runnable> e : work.entrySet()) {
            Runnable r = e.getValue();
            AtomicLong done = new AtomicLong();
            long stopAt = System.nanoTime() + (long) (seconds * 1e9);
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
              Thread th = new Thread(() -> {
                try {
                  start.await();
                } catch (InterruptedException ex) {
                  return;
                }
                long n = 0;
                while (System.nanoTime() < stopAt) {
                  r.run();
                  n++;
                }
                done.addAndGet(n);
              });
              th.start();
              ts.add(th);
            }
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            start.countDown();
            for (Thread th : ts) {
              th.join();
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            double cpu = (os.getProcessCpuTime() - cpu0) / 1e3;
            if (round >= 0) {
              results.computeIfAbsent(e.getKey() + "@" + threads, k -> new ArrayList<>())
                  .add(new double[] {cpu / done.get(), done.get() / wall});
            }
          }
        }
      }
      StringBuilder md = new StringBuilder("# PKI: process CPU per operation by threads calling at once\n\n");
      md.append("- Date: ").append(java.time.ZonedDateTime.now()).append("; cores: ")
          .append(Runtime.getRuntime().availableProcessors()).append("; load average at the end: ")
          .append(String.format(Locale.ROOT, "%.1f", os.getSystemLoadAverage())).append('\n');
      md.append(String.format(Locale.ROOT, "- %d interleaved rounds of %.1f s per cell; medians%n%n", rounds, seconds));
      md.append("| Operation |");
      for (int c : counts) {
        md.append(" ").append(c).append(" thread(s): CPU µs/op, ops/s |");
      }
      md.append("\n|---|");
      for (int c : counts) {
        md.append("---:|");
      }
      md.append('\n');
      for (String op : work.keySet()) {
        md.append("| ").append(op).append(" |");
        for (int c : counts) {
          List<double[]> v = results.get(op + "@" + c);
          double[] cpu = v.stream().mapToDouble(x -> x[0]).sorted().toArray();
          double[] rate = v.stream().mapToDouble(x -> x[1]).sorted().toArray();
          md.append(String.format(Locale.ROOT, " %.1f, %,.0f |", cpu[cpu.length / 2], rate[rate.length / 2]));
        }
        md.append('\n');
      }
      System.out.print(md);
      if (out != null) {
        java.nio.file.Files.writeString(out, md);
      }
    } finally {
      b.tearDown();
    }
    System.exit(0);
  }
}
