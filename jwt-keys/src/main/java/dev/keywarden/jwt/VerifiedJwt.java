package dev.keywarden.jwt;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A token that verified: which version signed it and its claims (JSON types: String, Long, Boolean, List, Map). */
public record VerifiedJwt(String kid, int version, Optional<String> subject, List<String> audience,
    Instant issuedAt, Instant expiresAt, Map<String, Object> claims) {

  /** Copies the collections. */
  public VerifiedJwt {
    audience = List.copyOf(audience);
    claims = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(claims));
  }
}
