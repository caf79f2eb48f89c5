package dev.keywarden.jwt;

import java.time.Instant;
import java.util.Optional;

/**
 * A revoked version: out of the JWKS and unable to sign from {@code revokedAt}; when it was the active one, an
 * emergency rotation made {@code replacement} active at once.
 */
public record RevocationResult(String key, int version, String kid, Instant revokedAt, boolean wasActive,
    Optional<RotationResult> replacement) {}
