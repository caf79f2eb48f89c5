package dev.keywarden.server.auth;

import java.util.List;

/** Who is calling: a resolved, unexpired token. Holds no secret. */
public record Caller(String accessor, List<String> policies, String displayName) {
  /** True for root tokens. */
  public boolean isRoot() {
    return policies.contains(Policy.ROOT);
  }
}
