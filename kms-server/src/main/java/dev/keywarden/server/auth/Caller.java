package dev.keywarden.server.auth;

import java.util.List;
import java.util.Map;

/**
 * Who is calling, as the gate authenticated them: how (a token, a client certificate, …), who (a display name), what
 * they may do (policies), until when, and facts worth auditing (the certificate serial, the JWT subject). Holds no
 * secret: a token caller carries its accessor, never the token.
 *
 * @param authMethod "token", "cert", …
 * @param accessor the token's accessor; empty for callers that hold no token (a per-call client certificate)
 * @param expireTime epoch milliseconds; 0 means no expiry
 */
public record Caller(String authMethod, String accessor, List<String> policies, String displayName,
                     Map<String, String> metadata, long expireTime) {
  public Caller {
    policies = List.copyOf(policies);
    metadata = Map.copyOf(metadata);
    displayName = displayName == null ? "" : displayName;
  }

  /** True for root tokens. */
  public boolean isRoot() {
    return policies.contains(Policy.ROOT);
  }
}
