package dev.keywarden.bench;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
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
  /**
   * A lane of a timed open loop wakes at most once per this many microseconds and sends every call of its own then
   * due, in one burst with one flush.
   */
  static final long BURST_TICK_MICROS = Long.getLong("keywarden.bench.open-tick-us", 200);

  /** How an open loop hands its calls to the transport. */
  enum Sending {
    /**
     * One sender thread parks until each call is due and starts it: per call a timer wake-up of the sender, a
     * wake-up of the channel's transport thread and a flush. One thread does all the calls' client-side work (the
     * stub, the headers, the framing), so on a loaded machine it falls behind before the server does.
     */
    PER_CALL,
    /**
     * Each lane's transport thread keeps its own schedule (a Netty scheduled task; epoll's timer has microsecond
     * resolution) and starts its due calls itself: no sender thread, no cross-thread wake-up, one flush per burst.
     */
    TIMED
  }

  /** One asynchronous call over a few lanes (channels, each with a transport thread of its own). */
  interface Call {
    /** Starts call {@code i} on lane {@code i % lanes()}; {@code done} is told once whether it succeeded. */
    void start(long i, Consumer<Boolean> done);

    int lanes();

    /** Runs tasks on lane {@code k}'s transport thread: calls started there share one write and flush. */
    ScheduledExecutorService lane(int k);
  }

  /**
   * What a phase measured; for a closed loop the latency histogram is empty. {@code cpuNanos} and {@code switches}
   * are the client process's CPU time and context switches (all threads) over the measured window; in the server's
   * JVM they are the server's and the client's together.
   */
  record Result(long calls, long errors, double seconds, Histogram latency, boolean overloaded, long cpuNanos,
      long switches) {
    double rate() {
      return calls / seconds;
    }

    double ms(double percentile) {
      return latency.getValueAtPercentile(percentile) / 1e6;
    }

    /** Client CPU per call, in microseconds. */
    double cpuMicrosPerCall() {
      return calls == 0 ? 0 : cpuNanos / 1e3 / calls;
    }

    double switchesPerCall() {
      return calls == 0 ? 0 : (double) switches / calls;
    }

    /** One line of text (the histogram compressed, Base64), read back by {@link #parse} from a client process. */
    String line() {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(latency.getNeededByteBufferCapacity());
      int n = latency.encodeIntoCompressedByteBuffer(b);
      return String.format(java.util.Locale.ROOT, "RESULT %d %d %.6f %b %s %d %d", calls, errors, seconds,
          overloaded, java.util.Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(b.array(), n)), cpuNanos,
          switches);
    }

    static Result parse(String line) {
      String[] f = line.trim().split(" ");
      try {
        Histogram h = Histogram.decodeFromCompressedByteBuffer(
            java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(f[5])), 0);
        return new Result(Long.parseLong(f[1]), Long.parseLong(f[2]), Double.parseDouble(f[3]), h,
            Boolean.parseBoolean(f[4]), Long.parseLong(f[6]), Long.parseLong(f[7]));
      } catch (java.util.zip.DataFormatException e) {
        throw new IllegalStateException("the client's histogram does not decode", e);
      }
    }
  }

  /** Told when the measured window opens and when it closes (a server samples its own CPU then). */
  interface Window {
    Window NONE = new Window() {
      @Override
      public void opened() {}

      @Override
      public void closed() {}
    };

    void opened();

    void closed();
  }

  private LoadDriver() {}

  /** {@code inFlight} chains of calls, each starting its next call when the last one answers. */
  static Result closed(Call call, int inFlight, Duration warmup, Duration measure, Window window)
      throws InterruptedException {
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
    ProcessCounters before = ProcessCounters.self();
    window.opened();
    long start = System.nanoTime();
    Thread.sleep(measure.toMillis());
    long calls = ok.get() - startCalls;
    long failed = errors.get() - startErrors;
    double seconds = (System.nanoTime() - start) / 1e9;
    window.closed();
    ProcessCounters used = ProcessCounters.self().minus(before);
    if (!done.await(60, TimeUnit.SECONDS)) {
      throw new IllegalStateException("calls still outstanding 60 s after the closed loop stopped");
    }
    return new Result(calls, failed, seconds, new Histogram(3), false, used.cpuNanos(), used.switches());
  }

  /**
   * Sends at a fixed rate whatever the answers do; latency from each call's intended send time (a call sent late,
   * because its sender or its lane's timer was late, counts its lateness).
   */
  static Result open(Call call, double rate, Duration warmup, Duration measure, Sending sending, Window window)
      throws InterruptedException {
    Histogram latency = new ConcurrentHistogram(TimeUnit.MINUTES.toNanos(1), 3);
    Open run = new Open(call, 1e9 / rate, System.nanoTime(), warmup, measure, latency);
    if (sending == Sending.PER_CALL) {
      Thread sender = new Thread(run::sendAlone, "open-loop-sender");
      sender.setDaemon(true);
      sender.start();
    } else {
      for (int k = 0; k < call.lanes(); k++) {
        run.timedLane(k);
      }
    }
    Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(run.measureFrom - System.nanoTime())));
    ProcessCounters before = ProcessCounters.self();
    window.opened();
    Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(run.end - System.nanoTime())));
    window.closed();
    ProcessCounters used = ProcessCounters.self().minus(before);
    run.senders.await(60, TimeUnit.SECONDS);
    long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (run.outstanding.get() > 0 && !run.overloaded && System.nanoTime() < drainUntil) {
      Thread.sleep(5);
    }
    return new Result(run.ok.get(), run.errors.get(), measure.toNanos() / 1e9, latency, run.overloaded,
        used.cpuNanos(), used.switches());
  }

  /** One open-loop run: call {@code i} is due at {@code begin + i * period}. */
  private static final class Open {
    final Call call;
    final double period;
    final long begin;
    final long measureFrom;
    final long end;
    final Histogram latency;
    final AtomicLong outstanding = new AtomicLong();
    final AtomicLong ok = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final CountDownLatch senders;
    volatile boolean overloaded;

    Open(Call call, double period, long begin, Duration warmup, Duration measure, Histogram latency) {
      this.call = call;
      this.period = period;
      this.begin = begin;
      this.measureFrom = begin + warmup.toNanos();
      this.end = measureFrom + measure.toNanos();
      this.latency = latency;
      this.senders = new CountDownLatch(call.lanes());
    }

    long due(long i) {
      return begin + (long) (i * period);
    }

    /** {@link Sending#PER_CALL}: this thread starts every call, call i on lane i % lanes. */
    void sendAlone() {
      try {
        for (long i = 0; due(i) < end && !overloaded; i++) {
          long wait = due(i) - System.nanoTime();
          if (wait > 0) {
            LockSupport.parkNanos(wait);
          }
          send(i);
        }
      } finally {
        for (int k = 0; k < call.lanes(); k++) {
          senders.countDown();
        }
      }
    }

    /** {@link Sending#TIMED}: lane k's transport thread starts calls k, k + lanes, k + 2 lanes, … when due. */
    void timedLane(int k) {
      ScheduledExecutorService loop = call.lane(k);
      int lanes = call.lanes();
      loop.execute(new Runnable() {
        long next = k;

        @Override
        public void run() {
          long now = System.nanoTime();
          while (due(next) <= now && due(next) < end && !overloaded) {
            send(next);
            next += lanes;
          }
          if (due(next) >= end || overloaded) {
            senders.countDown();
            return;
          }
          long tick = TimeUnit.MICROSECONDS.toNanos(BURST_TICK_MICROS);
          loop.schedule(this, Math.max(due(next) - System.nanoTime(), tick), TimeUnit.NANOSECONDS);
        }
      });
    }

    private void send(long i) {
      if (outstanding.incrementAndGet() > MAX_OUTSTANDING) {
        overloaded = true;
        outstanding.decrementAndGet();
        return;
      }
      long intended = due(i);
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
  }
}
