package dev.keywarden.jwt;

import java.time.Instant;
import java.util.Optional;

/**
 * One version of a key as it stands now.
 *
 * @param kid the RFC 7638 thumbprint of its public JWK
 * @param activeFrom when it started (or starts) signing
 * @param activeUntil when the next version took over; empty while none has
 * @param signedUntil the latest exp of a token it signed (rounded up); empty if none
 * @param verifiableUntil when it leaves the JWKS, once it has stopped signing
 * @param hsmLabel its HSM key pair's label; empty for a software key
 */
public record JwtVersionInfo(int version, String kid, JwtVersionState state, Instant createdAt, Instant activeFrom,
    Optional<Instant> activeUntil, Optional<Instant> signedUntil, Optional<Instant> verifiableUntil,
    Optional<Instant> retiredAt, Optional<Instant> revokedAt, Optional<Instant> destroyedAt, boolean software,
    Optional<String> hsmLabel) {}
