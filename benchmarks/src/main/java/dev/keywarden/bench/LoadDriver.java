package dev.keywarden.bench;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Closed- and open-loop load over any asynchronous call, so the same loops drive Keywarden and the bare echo
 * service, in this JVM or in a client process of its own ({@link LoadClient}).
 */
final class LoadDriver {
  /** Open loop gives up (and says so) when this many calls are outstanding: the server has fallen behind. */
  private static final long MAX_OUTSTANDING = 200_000;

  /** One asynchronous call; {@code done} is told once whether it succeeded. {@code i} picks the channel. */
  interface Call {
    void start(long i, Consumer<Boolean> done);
  }

  /** What a phase measured; for a closed loop the latency histogram is empty. */
  record Result(long calls, long errors, double seconds, Histogram latency, boolean overloaded) {
    double rate() {
      return calls / seconds;
    }

    double ms(double percentile) {
      return latency.getValueAtPercentile(percentile) / 1e6;
    }

    /** One line of text (the histogram compressed, Base64), read back by {@link #parse} from a client process. */
    String line() {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(latency.getNeededByteBufferCapacity());
      int n = latency.encodeIntoCompressedByteBuffer(b);
      return String.format(java.util.Locale.ROOT, "RESULT %d %d %.6f %b %s", calls, errors, seconds, overloaded,
          java.util.Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(b.array(), n)));
    }

    static Result parse(String line) {
      String[] f = line.trim().split(" ");
      try {
        Histogram h = Histogram.decodeFromCompressedByteBuffer(
            java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(f[5])), 0);
        return new Result(Long.parseLong(f[1]), Long.parseLong(f[2]), Double.parseDouble(f[3]), h,
            Boolean.parseBoolean(f[4]));
      } catch (java.util.zip.DataFormatException e) {
        throw new IllegalStateException("the client's histogram does not decode", e);
      }
    }
  }

  private LoadDriver() {}

  /** {@code inFlight} chains of calls, each starting its next call when the last one answers. */
  static Result closed(Call call, int inFlight, Duration warmup, Duration measure) throws InterruptedException {
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long stopAt = System.nanoTime() + warmup.toNanos() + measure.toNanos();
    CountDownLatch done = new CountDownLatch(inFlight);
    for (int i = 0; i < inFlight; i++) {
      long chain = i;
      new Consumer<Boolean>() {
        void next() {
          call.start(chain, this);
        }

        @Override
        public void accept(Boolean success) {
          (success ? ok : errors).incrementAndGet();
          if (System.nanoTime() < stopAt) {
            next();
          } else {
            done.countDown();
          }
        }
      }.next();
    }
    Thread.sleep(warmup.toMillis());
    long startCalls = ok.get();
    long startErrors = errors.get();
    long start = System.nanoTime();
    Thread.sleep(measure.toMillis());
    long calls = ok.get() - startCalls;
    long failed = errors.get() - startErrors;
    double seconds = (System.nanoTime() - start) / 1e9;
    if (!done.await(60, TimeUnit.SECONDS)) {
      throw new IllegalStateException("calls still outstanding 60 s after the closed loop stopped");
    }
    return new Result(calls, failed, seconds, new Histogram(3), false);
  }

  /** Sends at a fixed rate whatever the answers do; latency from each call's intended send time. */
  static Result open(Call call, double rate, Duration warmup, Duration measure) throws InterruptedException {
    Histogram latency = new ConcurrentHistogram(TimeUnit.MINUTES.toNanos(1), 3);
    AtomicLong outstanding = new AtomicLong();
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    double period = 1e9 / rate;
    long begin = System.nanoTime();
    long measureFrom = begin + warmup.toNanos();
    long end = measureFrom + measure.toNanos();
    boolean overloaded = false;
    for (long i = 0; ; i++) {
      long intended = begin + (long) (i * period);
      if (intended >= end) {
        break;
      }
      long wait = intended - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      if (outstanding.incrementAndGet() > MAX_OUTSTANDING) {
        overloaded = true;
        break;
      }
      boolean counted = intended >= measureFrom;
      call.start(i, success -> {
        long now = System.nanoTime();
        outstanding.decrementAndGet();
        if (counted) {
          (success ? ok : errors).incrementAndGet();
          latency.recordValue(Math.min(now - intended, latency.getHighestTrackableValue()));
        }
      });
    }
    long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (outstanding.get() > (overloaded ? 1 : 0) && System.nanoTime() < drainUntil) {
      Thread.sleep(5);
    }
    return new Result(ok.get(), errors.get(), measure.toNanos() / 1e9, latency, overloaded);
  }
}
