package dev.keywarden.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;

/** What the growth benchmarks share: the machine line, heap use, percentiles, number formats, writing the report. */
final class GrowthReport {
  private GrowthReport() {}

  /** Date, CPU, cores and the load average at the start: on a shared machine the last says how far to trust it. */
  static String machine() {
    String load;
    try {
      load = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException e) {
      load = "?";
    }
    return "- Date: " + Instant.now() + "\n- CPU: " + GrpcLoadBenchmark.cpuModel() + "; cores: "
        + Runtime.getRuntime().availableProcessors() + "; load average at start: " + load + "; JVM heap max "
        + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB, "
        + (java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()
            .contains("-XX:+UseTransparentHugePages") ? "on transparent huge pages (as bin/keywarden runs the server"
            + " where the kernel offers them)" : "on 4 KiB pages") + "\n";
  }

  /** Used heap after full collections. */
  static long usedHeap() {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return used;
  }

  /** The p-th percentile (0..100) of sorted nanosecond samples, in ms. */
  static double percentileMs(long[] sortedNanos, double p) {
    if (sortedNanos.length == 0) {
      return Double.NaN;
    }
    int i = (int) Math.min(sortedNanos.length - 1, Math.ceil(p / 100 * sortedNanos.length) - 1);
    return sortedNanos[Math.max(0, i)] / 1e6;
  }

  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  static String n(long v) {
    return String.format(Locale.ROOT, "%,d", v);
  }

  static String ms(double v) {
    return v >= 100 ? String.format(Locale.ROOT, "%,.0f ms", v)
        : String.format(Locale.ROOT, v < 1 ? "%.3f ms" : "%.2f ms", v);
  }

  static String s(double seconds) {
    return String.format(Locale.ROOT, "%.1f s", seconds);
  }

  static void write(Path out, String report) throws IOException {
    System.out.println(report);
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, report);
    System.out.println("written to " + out);
  }
}
