package dev.keywarden.audit;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/** One device's counters, kept across seal and unseal so they only go up (the server exports them). */
final class DeviceMetrics {
  /** Upper bounds of the write latency buckets, in microseconds; one more bucket holds the rest. */
  static final long[] BOUNDS_MICROS = {100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000,
      250_000, 500_000, 1_000_000, 2_500_000};

  final LongAdder records = new LongAdder();
  final LongAdder failures = new LongAdder();
  final LongAdder writes = new LongAdder();
  final LongAdder fsyncs = new LongAdder();
  final LongAdder checkpoints = new LongAdder();
  final LongAdder checkpointFailures = new LongAdder();
  private final AtomicLongArray buckets = new AtomicLongArray(BOUNDS_MICROS.length + 1);
  private final LongAdder latencySumMicros = new LongAdder();

  /** One record's latency, from the call handing it over to it being written (and fsynced). */
  void latency(long nanos) {
    long micros = nanos / 1000;
    int i = Arrays.binarySearch(BOUNDS_MICROS, micros);
    buckets.incrementAndGet(i >= 0 ? i : -i - 1);
    latencySumMicros.add(micros);
  }

  AuditMetrics.Device snapshot(String name, int queueDepth) {
    long[] counts = new long[buckets.length()];
    long n = 0;
    for (int i = 0; i < counts.length; i++) {
      counts[i] = buckets.get(i);
      n += counts[i];
    }
    List<Duration> bounds = Arrays.stream(BOUNDS_MICROS).mapToObj(m -> Duration.ofNanos(m * 1000)).toList();
    return new AuditMetrics.Device(name, records.sum(), failures.sum(), writes.sum(), fsyncs.sum(),
        checkpoints.sum(), checkpointFailures.sum(), queueDepth,
        new AuditMetrics.Histogram(bounds, counts, n, Duration.ofNanos(latencySumMicros.sum() * 1000)));
  }
}
