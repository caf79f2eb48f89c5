package dev.keywarden.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/** A clock tests move by hand: stopped at a given instant, or following the system clock at an offset. */
public final class MutableClock extends Clock {
  private final Instant stoppedAt;
  private final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);

  private MutableClock(Instant stoppedAt) {
    this.stoppedAt = stoppedAt;
  }

  /** Stands still at {@code at} until advanced. */
  public static MutableClock stoppedAt(Instant at) {
    return new MutableClock(at);
  }

  /** Runs with the system clock (so it agrees with OpenSSL's), plus whatever it is advanced by. */
  public static MutableClock running() {
    return new MutableClock(null);
  }

  public void advance(Duration d) {
    offset.updateAndGet(o -> o.plus(d));
  }

  @Override
  public Instant instant() {
    return (stoppedAt == null ? Instant.now() : stoppedAt).plus(offset.get());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
