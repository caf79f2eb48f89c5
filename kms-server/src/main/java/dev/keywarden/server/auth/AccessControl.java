package dev.keywarden.server.auth;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.util.List;

/**
 * Policy decisions for an authenticated {@link Caller}. Deny by default; a "deny" rule in any of the caller's policies
 * wins over every grant. The gate calls it once per RPC from the service's table; handlers never do.
 */
public final class AccessControl {
  private final PolicyStore policies;

  public AccessControl(PolicyStore policies) {
    this.policies = policies;
  }

  /** PERMISSION_DENIED unless the caller's policies grant {@code capability} on {@code resource}. */
  public void require(Caller caller, String resource, String capability) {
    if (!allows(caller, resource, capability)) {
      throw denied(caller, resource, "'" + capability + "'");
    }
  }

  /** PERMISSION_DENIED unless the caller's policies grant at least one of {@code capabilities} on {@code resource}. */
  public void requireAny(Caller caller, String resource, List<String> capabilities) {
    for (String c : capabilities) {
      if (allows(caller, resource, c)) {
        return;
      }
    }
    throw denied(caller, resource, capabilities.size() == 1 ? "'" + capabilities.get(0) + "'"
        : "any of " + capabilities);
  }

  private static KeywardenException denied(Caller caller, String resource, String what) {
    return new KeywardenException(Kind.PERMISSION_DENIED, "permission denied: the policies " + caller.policies()
        + " do not grant " + what + " on '" + Inputs.quoted(resource) + "'");
  }

  /** Whether the caller's policies grant {@code capability} on {@code resource}. */
  public boolean allows(Caller caller, String resource, String capability) {
    if (caller.isRoot()) {
      return true;
    }
    boolean allowed = false;
    for (String name : caller.policies()) {
      Policy policy = policies.find(name).orElse(null);
      if (policy == null) {
        continue;
      }
      switch (policy.decide(resource, capability)) {
        case DENY -> {
          return false;
        }
        case ALLOW -> allowed = true;
        default -> { }
      }
    }
    return allowed;
  }

  /** Checks that every policy exists and that the caller may hand them out (root: any; others: their own). */
  public void checkGrantable(Caller caller, List<String> requested) {
    if (requested.isEmpty()) {
      throw KeywardenException.invalid("policies: name at least one policy (--policy)");
    }
    for (String name : requested) {
      Policy.validateName(name);
      if (Policy.ROOT.equals(name)) {
        if (!caller.isRoot()) {
          throw new KeywardenException(Kind.PERMISSION_DENIED, "only a root token can create root tokens");
        }
        continue;
      }
      if (policies.find(name).isEmpty()) {
        throw KeywardenException.notFound("no policy named '" + name + "': write it first (keywarden policy write)");
      }
      if (!caller.isRoot() && !caller.policies().contains(name)) {
        throw new KeywardenException(Kind.PERMISSION_DENIED,
            "a caller can only hand out policies it has itself; '" + name + "' is not among " + caller.policies());
      }
    }
  }
}
