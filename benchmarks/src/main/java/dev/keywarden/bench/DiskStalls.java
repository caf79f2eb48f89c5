package dev.keywarden.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * The disk's own fsync latency at a given rate: 4 KiB appends, each followed by an fsync, paced on one thread (late
 * ones run back to back). {@code stallShare} is the share of wall time during which an fsync had been running for
 * longer than the threshold: a call that waits for the next fsync and arrives then waits longer than the threshold.
 */
record DiskStalls(double rate, double seconds, double p50, double p99, double p999, double max, int slow,
    double stallShare) {

  static DiskStalls probe(Path dir, double rate, double seconds, double thresholdMs) throws IOException {
    Path f = dir.resolve("fsync-stall-probe");
    long period = (long) (1e9 / rate);
    long threshold = (long) (thresholdMs * 1e6);
    long[] took = new long[(int) Math.min(10_000_000, rate * seconds + 1)];
    int n = 0;
    long stalled = 0;
    int slow = 0;
    long begin = System.nanoTime();
    long end = begin + (long) (seconds * 1e9);
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND)) {
      ByteBuffer block = ByteBuffer.allocate(4096);
      for (long next = begin; next < end && n < took.length; next += period) {
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
        block.clear();
        long t0 = System.nanoTime();
        ch.write(block);
        ch.force(false);
        long d = System.nanoTime() - t0;
        took[n++] = d;
        if (d > threshold) {
          slow++;
          stalled += d - threshold;
        }
      }
    } finally {
      Files.deleteIfExists(f);
    }
    double wall = (System.nanoTime() - begin) / 1e9;
    long[] sorted = Arrays.copyOf(took, Math.max(1, n));
    Arrays.sort(sorted);
    return new DiskStalls(n / wall, wall, ms(sorted, 0.5), ms(sorted, 0.99), ms(sorted, 0.999),
        sorted[sorted.length - 1] / 1e6, slow, stalled / 1e9 / wall);
  }

  private static double ms(long[] sorted, double q) {
    return sorted[Math.min(sorted.length - 1, (int) (sorted.length * q))] / 1e6;
  }
}
