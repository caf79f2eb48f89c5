package dev.keywarden.jwt;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Where a key version is in its life: pending → active → verify-only → retired → destroyed. */
public enum JwtVersionState {
  /** In the JWKS, signs nothing yet: verifiers learn it before its first token. */
  PENDING,
  /** The one version that signs. */
  ACTIVE,
  /** In the JWKS until every token it signed has expired (plus the skew); signs nothing. */
  VERIFY_ONLY,
  /** Out of the JWKS (expired or revoked); its private key waits for tidy. */
  RETIRED,
  /** Its private key is destroyed. */
  DESTROYED;

  /** "pending", "active", "verify-only", "retired", "destroyed". */
  @JsonValue
  public String stateName() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Reads {@link #stateName()}; null for anything else (a newer server's state reads as unknown). */
  @JsonCreator
  static JwtVersionState parse(String name) {
    for (JwtVersionState s : values()) {
      if (s.stateName().equals(name)) {
        return s;
      }
    }
    return null;
  }

  /** True while the version's public key is in the JWKS. */
  public boolean published() {
    return this == PENDING || this == ACTIVE || this == VERIFY_ONLY;
  }
}
