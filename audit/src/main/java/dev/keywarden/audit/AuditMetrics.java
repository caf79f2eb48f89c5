package dev.keywarden.audit;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * A snapshot of the audit log's counters, for the server to export (e.g. as Micrometer function counters and gauges).
 *
 * @param devices one entry per device ever opened since start
 * @param requestsRefused calls that failed UNAVAILABLE because no device wrote their request record
 * @param responsesLost response records no device wrote (logged to stderr)
 */
public record AuditMetrics(List<Device> devices, long requestsRefused, long responsesLost) {
  public AuditMetrics {
    devices = List.copyOf(devices);
  }

  /**
   * One device's counters.
   *
   * @param recordsWritten records written (and fsynced, for a file), checkpoints and markers included
   * @param failures records this device failed to write (refused at once, timed out or failed writing)
   * @param writes write calls made (a batch is one)
   * @param fsyncs fsyncs made
   * @param checkpoints checkpoints written
   * @param checkpointFailures checkpoints that could not be signed or written
   * @param queueDepth records waiting for the writer now
   * @param writeLatency from a call handing its record over to the record being written
   */
  public record Device(String device, long recordsWritten, long failures, long writes, long fsyncs,
                       long checkpoints, long checkpointFailures, int queueDepth, Histogram writeLatency) {}

  /**
   * A latency histogram: {@code counts[i]} records took at most {@code upperBounds[i]} (and more than the bound
   * before); the last count is of those above every bound.
   */
  public record Histogram(List<Duration> upperBounds, long[] counts, long count, Duration sum) {
    public Histogram {
      upperBounds = List.copyOf(upperBounds);
      counts = counts.clone();
    }

    @Override
    public long[] counts() {
      return counts.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Histogram h && h.upperBounds.equals(upperBounds) && Arrays.equals(h.counts, counts)
          && h.count == count && h.sum.equals(sum);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(counts);
    }

    @Override
    public String toString() {
      return "Histogram[count=" + count + ", sum=" + sum + ", counts=" + Arrays.toString(counts) + "]";
    }
  }
}
