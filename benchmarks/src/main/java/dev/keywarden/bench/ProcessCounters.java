package dev.keywarden.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * This process's CPU time and context switches (voluntary and not, from Linux's {@code /proc/self/task}); a difference
 * of two samples is what a phase cost. Switches are compared thread by thread: a thread that ended between the samples
 * takes its switches with it, so they are a lower bound; 0 where there is no {@code /proc}.
 */
record ProcessCounters(long cpuNanos, long switches, Map<String, Long> byThread) {
  ProcessCounters(long cpuNanos, long switches) {
    this(cpuNanos, switches, Map.of());
  }

  static ProcessCounters self() {
    long cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
    Map<String, Long> threads = threadSwitches();
    return new ProcessCounters(cpu, threads.values().stream().mapToLong(Long::longValue).sum(), threads);
  }

  ProcessCounters minus(ProcessCounters earlier) {
    long switched = 0;
    for (Map.Entry<String, Long> t : byThread.entrySet()) {
      switched += t.getValue() - earlier.byThread.getOrDefault(t.getKey(), 0L);
    }
    return new ProcessCounters(cpuNanos - earlier.cpuNanos, switched);
  }

  private static Map<String, Long> threadSwitches() {
    Map<String, Long> threads = new HashMap<>();
    Path tasks = Path.of("/proc/self/task");
    if (!Files.isDirectory(tasks)) {
      return threads;
    }
    try (Stream<Path> list = Files.list(tasks)) {
      for (Path task : (Iterable<Path>) list::iterator) {
        try {
          long sum = 0;
          for (String line : Files.readAllLines(task.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
              sum += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
          }
          threads.put(task.getFileName().toString(), sum);
        } catch (IOException | RuntimeException e) {
          // The thread ended while it was read.
        }
      }
    } catch (IOException e) {
      return Map.of();
    }
    return threads;
  }
}
