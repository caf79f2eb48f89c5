package dev.keywarden.server.auth;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.unseal.Core;
import java.util.List;

/**
 * The one gate every authenticated request passes: sealed? token valid? policy allows? Deny by default; a "deny" rule
 * in any of the token's policies wins over every grant.
 */
public final class AccessControl {
  private final Core core;
  private final TokenStore tokens;
  private final PolicyStore policies;

  public AccessControl(Core core, TokenStore tokens, PolicyStore policies) {
    this.core = core;
    this.tokens = tokens;
    this.policies = policies;
  }

  /** Resolves the bearer token and checks {@code capability} on {@code resource}. */
  public Caller require(String bearer, String resource, String capability) {
    Caller caller = authenticate(bearer);
    if (!allows(caller, resource, capability)) {
      throw new KeywardenException(Kind.PERMISSION_DENIED,
          "permission denied: the token's policies " + caller.policies() + " do not grant '" + capability + "' on '"
              + resource + "'");
    }
    return caller;
  }

  /** Resolves the bearer token only (for calls every token may make on itself). */
  public Caller authenticate(String bearer) {
    core.unsealed();
    if (bearer == null || bearer.isEmpty()) {
      throw new KeywardenException(Kind.UNAUTHENTICATED,
          "missing token: send 'authorization: Bearer <token>' (CLI: KEYWARDEN_TOKEN or --token)");
    }
    return tokens.resolve(bearer);
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
            "a token can only hand out policies it has itself; '" + name + "' is not among " + caller.policies());
      }
    }
  }
}
