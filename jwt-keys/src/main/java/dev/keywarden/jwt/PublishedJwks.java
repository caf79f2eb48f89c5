package dev.keywarden.jwt;

import java.time.Duration;

/**
 * A key's JWK Set as served at {@code ISSUER/.well-known/jwks.json}: the public JWKs of its pending, active and
 * verify-only versions; a strong ETag (quoted, from the SHA-256 of the text); and how long it may be cached: at most
 * publish_ahead less the skew, so a verifier holding it never meets a token from a version it has not seen.
 */
public record PublishedJwks(String json, String etag, Duration maxAge) {}
