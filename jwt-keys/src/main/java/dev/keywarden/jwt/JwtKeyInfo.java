package dev.keywarden.jwt;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** A key: its settings, every version (oldest first) with its state now, and the kid that signs now. */
public record JwtKeyInfo(JwtKeySettings settings, Instant createdAt, List<JwtVersionInfo> versions,
    Optional<String> activeKid) {

  /** Copies the list. */
  public JwtKeyInfo {
    versions = List.copyOf(versions);
  }

  /** The version with this kid, if any. */
  public Optional<JwtVersionInfo> version(String kid) {
    return versions.stream().filter(v -> v.kid().equals(kid)).findFirst();
  }
}
