package dev.keywarden.jwt;

import dev.keywarden.jwt.JwtRecords.StoredKey;
import dev.keywarden.jwt.JwtRecords.StoredVersion;
import java.util.Comparator;
import java.util.Optional;

/**
 * A key's versions at one instant, from stored times alone. The active version is the one activated last (by
 * activation time, then number) among those not revoked before they activated; once revoked it signs nothing and no
 * older version takes over. A version stops signing when the next one activates, and stays verifiable until
 * max(its signed_until, that moment) + skew.
 */
final class Timeline {
  private static final Comparator<StoredVersion> ACTIVATION = Comparator.comparingLong(StoredVersion::activateAt)
      .thenComparingInt(StoredVersion::version);

  private final StoredKey key;
  private final long now;
  private final Optional<StoredVersion> current;

  Timeline(StoredKey key, long now) {
    this.key = key;
    this.now = now;
    this.current = key.versions().stream().filter(v -> counts(v) && v.activateAt() <= now).max(ACTIVATION);
  }

  /** A version revoked while still pending never took over from the one before it. */
  private static boolean counts(StoredVersion v) {
    return v.revokedAt() == 0 || v.revokedAt() >= v.activateAt();
  }

  /** The version that signs now: empty when none has activated yet, or the last one activated was revoked. */
  Optional<StoredVersion> signing() {
    return current.filter(v -> state(v) == JwtVersionState.ACTIVE);
  }

  /** The last activated version, revoked or not. */
  Optional<StoredVersion> current() {
    return current;
  }

  JwtVersionState state(StoredVersion v) {
    if (v.destroyedAt() != 0) {
      return JwtVersionState.DESTROYED;
    }
    if (v.revokedAt() != 0 || v.retiredAt() != 0) {
      return JwtVersionState.RETIRED;
    }
    if (v.activateAt() > now) {
      return JwtVersionState.PENDING;
    }
    if (current.isPresent() && current.get().version() == v.version()) {
      return JwtVersionState.ACTIVE;
    }
    return now < verifyUntil(v).orElse(Long.MIN_VALUE) ? JwtVersionState.VERIFY_ONLY : JwtVersionState.RETIRED;
  }

  /** When a version that stopped signing leaves the JWKS; empty while it signs or is pending. */
  Optional<Long> verifyUntil(StoredVersion v) {
    return deactivatedAt(v).map(off -> Math.max(v.signedUntil(), off) + key.skew());
  }

  /** When the next version took over from {@code v}; empty while none has. */
  Optional<Long> deactivatedAt(StoredVersion v) {
    return key.versions().stream()
        .filter(w -> counts(w) && w.activateAt() <= now && ACTIVATION.compare(w, v) > 0)
        .map(StoredVersion::activateAt)
        .min(Long::compare);
  }
}
