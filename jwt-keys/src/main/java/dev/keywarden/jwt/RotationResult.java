package dev.keywarden.jwt;

import java.time.Instant;
import java.util.Optional;

/**
 * What a rotation did.
 *
 * @param kid the version that takes over
 * @param activeFrom when it signs: publish_ahead after it was created, or now for an emergency rotation
 * @param newVersion false when a pending version already existed and was kept (or promoted, for an emergency)
 * @param warning for an emergency rotation: verifiers that fetched the JWKS before the version was published may
 *     reject its tokens until they fetch it again
 */
public record RotationResult(String key, int version, String kid, Instant activeFrom, boolean newVersion,
    Optional<String> warning) {}
