package dev.keywarden.jwt;

import java.time.Duration;
import java.util.Optional;

/**
 * A change to a key's settings: each present field replaces the current value, the others stay. The algorithm, the
 * RSA size and the software flag never change (make a new key). {@code rotationPeriod} of zero turns scheduled
 * rotation off. Versions already made keep the times they were given.
 */
public record JwtKeyUpdate(Optional<String> issuer, Optional<Duration> publishAhead,
    Optional<Duration> rotationPeriod, Optional<Duration> maxTokenTtl, Optional<Duration> skew) {

  /** Normalizes nulls to empty. */
  public JwtKeyUpdate {
    issuer = issuer == null ? Optional.empty() : issuer;
    publishAhead = publishAhead == null ? Optional.empty() : publishAhead;
    rotationPeriod = rotationPeriod == null ? Optional.empty() : rotationPeriod;
    maxTokenTtl = maxTokenTtl == null ? Optional.empty() : maxTokenTtl;
    skew = skew == null ? Optional.empty() : skew;
  }

  /** No change; add fields with the withers. */
  public static JwtKeyUpdate none() {
    return new JwtKeyUpdate(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
  }

  /** This update, also setting the issuer. */
  public JwtKeyUpdate withIssuer(String v) {
    return new JwtKeyUpdate(Optional.of(v), publishAhead, rotationPeriod, maxTokenTtl, skew);
  }

  /** This update, also setting publish_ahead. */
  public JwtKeyUpdate withPublishAhead(Duration v) {
    return new JwtKeyUpdate(issuer, Optional.of(v), rotationPeriod, maxTokenTtl, skew);
  }

  /** This update, also setting rotation_period (zero: none). */
  public JwtKeyUpdate withRotationPeriod(Duration v) {
    return new JwtKeyUpdate(issuer, publishAhead, Optional.of(v), maxTokenTtl, skew);
  }

  /** This update, also setting max_token_ttl. */
  public JwtKeyUpdate withMaxTokenTtl(Duration v) {
    return new JwtKeyUpdate(issuer, publishAhead, rotationPeriod, Optional.of(v), skew);
  }

  /** This update, also setting skew. */
  public JwtKeyUpdate withSkew(Duration v) {
    return new JwtKeyUpdate(issuer, publishAhead, rotationPeriod, maxTokenTtl, Optional.of(v));
  }

  /** {@code current} with this update applied, validated. */
  JwtKeySettings applyTo(JwtKeySettings current) {
    Optional<Duration> period = rotationPeriod.isPresent()
        ? (rotationPeriod.get().isZero() ? Optional.empty() : rotationPeriod) : current.rotationPeriod();
    return new JwtKeySettings(current.name(), current.algorithm(), current.rsaBits(), current.software(),
        issuer.orElse(current.issuer()), publishAhead.orElse(current.publishAhead()), period,
        maxTokenTtl.orElse(current.maxTokenTtl()), skew.orElse(current.skew()));
  }
}
