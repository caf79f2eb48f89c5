package dev.keywarden.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * CPU time per operation of {@link PkiSignBenchmark}'s four benchmarks (and of the ceiling's two run back to back), on one thread, in interleaved rounds: a
 * second view of the same ratios that a busy machine does not skew (throughput measures the share of the cores a
 * benchmark got; the CPU an operation costs changes much less with the load). SoftHSM2 signs in this thread, so its
 * work is counted. Usage: {@code PkiCpuCost [OUT.md [ROUNDS [OPS_PER_ROUND]]]}; needs SOFTHSM2_CONF.
 */
public final class PkiCpuCost {
  private PkiCpuCost() {}

  public static void main(String[] args) throws Exception {
    java.nio.file.Path out = args.length > 0 ? java.nio.file.Path.of(args[0]) : null;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
    int ops = args.length > 2 ? Integer.parseInt(args[2]) : 2_000;
    PkiSignBenchmark b = new PkiSignBenchmark();
    b.setUp();
    try {
      Map<String, Runnable> work = b.operations();
      // The same two ceiling operations back to back, as an issuance runs them: AWS-LC's verification and SoftHSM2's
      // signature then share the caches, which costs CPU that neither shows in a loop of its own.
      work.put("rawSignThenCsrCheck", () -> {
        b.rawPkcs11Sign();
        b.csrCheck();
      });
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      Map<String, double[]> micros = new LinkedHashMap<>();
      work.keySet().forEach(k -> micros.put(k, new double[rounds]));
      for (int warm = 0; warm < 3; warm++) { // JIT
        for (Runnable r : work.values()) {
          for (int i = 0; i < ops; i++) {
            r.run();
          }
        }
      }
      for (int round = 0; round < rounds; round++) {
        for (Map.Entry<String, Runnable> e : work.entrySet()) {
          long cpu = threads.getCurrentThreadCpuTime();
          for (int i = 0; i < ops; i++) {
            e.getValue().run();
          }
          micros.get(e.getKey())[round] = (threads.getCurrentThreadCpuTime() - cpu) / 1e3 / ops;
        }
      }
      Map<String, Double> median = new LinkedHashMap<>();
      micros.forEach((k, v) -> {
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        median.put(k, sorted[sorted.length / 2]);
      });
      double ceiling = median.get("rawPkcs11Sign") + median.get("csrCheck");
      StringBuilder md = new StringBuilder("# PKI: CPU per operation (one thread, interleaved rounds)\n\n");
      md.append("- Date: ").append(java.time.ZonedDateTime.now()).append("; cores available: ")
          .append(Runtime.getRuntime().availableProcessors()).append("; load average at the end: ")
          .append(String.format(Locale.ROOT, "%.1f", ManagementFactory.getOperatingSystemMXBean()
              .getSystemLoadAverage())).append('\n');
      md.append("- The same operations as pki-jmh.md; target: signCsrNoStore ≥ 0.85× the ceiling (raw signature")
          .append(" + CSR check), here as CPU: ceiling ÷ this.\n\n");
      md.append(String.format(Locale.ROOT, "| Operation | CPU µs/op (median of %d rounds × %d) | ceiling ÷ this |%n"
          + "|---|---:|---:|%n", rounds, ops));
      median.forEach((k, v) -> md.append(String.format(Locale.ROOT, "| %s | %.1f | %s |%n", k, v,
          k.startsWith("signCsr") ? String.format(Locale.ROOT, "%.2f×", ceiling / v) : "")));
      md.append(String.format(Locale.ROOT, "%nCeiling (raw signature + CSR check): %.1f µs/op%n", ceiling));
      double together = median.get("rawSignThenCsrCheck");
      md.append(String.format(Locale.ROOT, "%nThe two back to back cost %.1f µs/op (%+.1f µs against the sum of their own "
          + "loops); signCsrNoStore against that: %.2f×%n", together, together - ceiling,
          together / median.get("signCsrNoStore")));
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
