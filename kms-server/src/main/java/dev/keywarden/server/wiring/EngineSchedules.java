package dev.keywarden.server.wiring;

import dev.keywarden.encoding.DurationText;
import dev.keywarden.jwt.JwtEngine;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.transit.TransitEngine;
import dev.keywarden.unseal.PeriodicTasks;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The engines' periodic work, registered once with the server's {@link PeriodicTasks}: transit auto-rotation once a
 * minute, PKI CRLs rebuilt before they go stale (past half their 12-hour life) or when missing, every
 * {@value #CRL_REFRESH_PROPERTY} (default 5 minutes), so relying
 * parties never get one about to expire even when nobody revoked or asked for a while, and the JWT keys' lifecycle:
 * {@code tick} (scheduled rotations, state changes recorded) every {@value #JWT_TICK_PROPERTY} (default 1 minute)
 * and {@code tidy} (retired versions' private keys destroyed) hourly. A JWT version's state follows from its stored
 * times at every read, so the tick only decides how soon a scheduled rotation makes the next version: a late tick
 * delays that version's activation, never shortens its publish-ahead. Expired tokens are removed every ten minutes,
 * at most {@value #TOKEN_TIDY_MAX} a run, in transactions of a few hundred.
 */
@Singleton
public final class EngineSchedules {
  static final Duration CRL_PERIOD = Duration.ofMinutes(5);
  /** System property with the CRL refresh period ("5m" unless set); tests that watch the refresh move set "1s". */
  public static final String CRL_REFRESH_PROPERTY = "keywarden.pki.crl-refresh-period";
  /** System property with the JWT tick period ("30s", "1m"); tests with rotation periods of seconds set "1s". */
  public static final String JWT_TICK_PROPERTY = "keywarden.jwt.tick-period";
  static final Duration JWT_TICK_DEFAULT = Duration.ofMinutes(1);
  static final Duration JWT_TIDY_PERIOD = Duration.ofHours(1);
  static final Duration TOKEN_TIDY_PERIOD = Duration.ofMinutes(10);
  /** Expired tokens removed per run at most: the rest wait for the next run. */
  static final int TOKEN_TIDY_MAX = 100_000;

  public EngineSchedules(PeriodicTasks tasks, TransitEngine transit, PkiEngine pki, JwtEngine jwt,
      TokenStore tokens) {
    tasks.schedule("auto-rotation", Duration.ofMinutes(1), Duration.ofMinutes(1), () -> {
      int rotated = transit.rotateDue();
      return rotated == 0 ? null : "rotated " + rotated + " transit keys";
    });
    Duration crlPeriod = period(CRL_REFRESH_PROPERTY, System.getProperty(CRL_REFRESH_PROPERTY), CRL_PERIOD);
    Duration crlFirst = crlPeriod.compareTo(Duration.ofMinutes(1)) < 0 ? crlPeriod : Duration.ofMinutes(1);
    tasks.schedule("CRL refresh", crlFirst, crlPeriod, () -> {
      List<String> rebuilt = pki.refreshCrls();
      return rebuilt.isEmpty() ? null : "rebuilt the CRLs of issuers " + rebuilt;
    });
    Duration tick = jwtTickPeriod(System.getProperty(JWT_TICK_PROPERTY));
    tasks.schedule("JWT key lifecycle", tick, tick, () -> jwt.tick(Instant.now()).summary());
    tasks.schedule("JWT key tidy", Duration.ofMinutes(5), JWT_TIDY_PERIOD, () -> jwt.tidy(Instant.now()).summary());
    tasks.schedule("token tidy", Duration.ofMinutes(2), TOKEN_TIDY_PERIOD,
        () -> tokens.tidy(Instant.now(), TOKEN_TIDY_MAX).summary());
  }

  /** The JWT tick period: the property's duration (1s to 1h), or one minute when unset. */
  static Duration jwtTickPeriod(String property) {
    return period(JWT_TICK_PROPERTY, property, JWT_TICK_DEFAULT);
  }

  /** The period system property {@code name} gives ({@code value}: 1s to 1h), or {@code unset} when it is unset. */
  static Duration period(String name, String value, Duration unset) {
    if (value == null || value.isBlank()) {
      return unset;
    }
    Duration d = DurationText.parse("-D" + name, value.strip());
    if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(Duration.ofHours(1)) > 0) {
      throw new IllegalArgumentException("-D" + name + "=" + value + ": give 1s to 1h");
    }
    return d;
  }
}
