package dev.keywarden.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * This process's CPU time and context switches (voluntary and not, summed over its live threads from Linux's
 * {@code /proc/self/task}); a difference of two samples is what a phase cost. Threads that end between the samples
 * take their switches with them, so the switches are a lower bound; 0 where there is no {@code /proc}.
 */
record ProcessCounters(long cpuNanos, long switches) {
  static ProcessCounters self() {
    long cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
    return new ProcessCounters(cpu, threadSwitches());
  }

  ProcessCounters minus(ProcessCounters earlier) {
    return new ProcessCounters(cpuNanos - earlier.cpuNanos, switches - earlier.switches);
  }

  private static long threadSwitches() {
    Path tasks = Path.of("/proc/self/task");
    if (!Files.isDirectory(tasks)) {
      return 0;
    }
    long sum = 0;
    try (Stream<Path> list = Files.list(tasks)) {
      for (Path task : (Iterable<Path>) list::iterator) {
        try {
          for (String line : Files.readAllLines(task.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
              sum += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
          }
        } catch (IOException | RuntimeException e) {
          // The thread ended while it was read.
        }
      }
    } catch (IOException e) {
      return 0;
    }
    return sum;
  }
}
