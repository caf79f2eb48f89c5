package dev.keywarden.server.auth;

import java.util.Set;
import java.util.TreeSet;

/** Every capability a policy rule may grant. Engines add theirs here so a typo in a policy is refused, not ignored. */
public final class Capabilities {
  /** Refuses everything on the resources a rule matches, whatever other rules grant. */
  public static final String DENY = "deny";

  static final Set<String> KNOWN = Set.copyOf(new TreeSet<>(Set.of(
      "read", "create", "update", "delete", "list", DENY,
      // transit
      "encrypt", "decrypt", "rewrap", "datakey", "sign", "verify", "hmac", "rotate",
      // pki / ssh
      "issue", "revoke")));

  private Capabilities() {}

  static String known() {
    return String.join(", ", new TreeSet<>(KNOWN));
  }
}
