package dev.keywarden.jwt;

import dev.keywarden.failure.KeywardenException;
import java.util.Map;
import java.util.TreeMap;

/**
 * Who asks for a token, as the gate authenticated them: what roles' templates read as {@code {{identity}}} (e.g. the
 * token's display name or the certificate's CN) and {@code {{meta.KEY}}} (the caller's metadata).
 */
public record JwtIdentity(String name, Map<String, String> metadata) {

  /** Copies the metadata; the name is required. */
  public JwtIdentity {
    if (name == null || name.isEmpty()) {
      throw KeywardenException.invalid("the caller's identity has no name");
    }
    metadata = metadata == null ? Map.of() : Map.copyOf(new TreeMap<>(metadata));
  }

  /** An identity with no metadata. */
  public static JwtIdentity of(String name) {
    return new JwtIdentity(name, Map.of());
  }
}
