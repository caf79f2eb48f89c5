package dev.keywarden.server.auth.jwt;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.server.auth.TokenStore;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JWT/OIDC login: jwt roles (write, read, list, delete) and the exchange of a JWT for a Keywarden token with the
 * role's policies. The token has no parent; its metadata records the role and the JWT's subject and issuer (never
 * the JWT). Its lifetime is the role's token TTL, cut to what the JWT has left unless the role lets it outlive it.
 */
public final class JwtAuth {
  /** The most characters of a JWT's subject or issuer kept in a token's metadata. */
  static final int MAX_METADATA = 256;

  private final JwtRoleRecords roles;
  private final TokenStore tokens;
  private final Clock clock;
  private final IssuerKeys keys = new IssuerKeys();
  private final JwtVerifier verifier;

  public JwtAuth(JwtRoleRecords roles, TokenStore tokens, Clock clock) {
    this.roles = roles;
    this.tokens = tokens;
    this.clock = clock;
    this.verifier = new JwtVerifier(keys, clock);
  }

  /** Creates or replaces a role; returns it as stored. */
  public JwtRole write(String name, JwtRole role) {
    roles.put(name, role);
    forgetUnusedSources();
    return role;
  }

  /** The named role; NOT_FOUND when there is none. */
  public JwtRole read(String name) {
    return roles.find(name).orElseThrow(() -> KeywardenException.notFound("no jwt role named '"
        + Inputs.quoted(name) + "'"));
  }

  /** Whether the named role exists. */
  public boolean exists(String name) {
    return roles.exists(name);
  }

  /** One page of the role names, sorted: at most {@code limit} after {@code after} ("" for the first page). */
  public List<String> list(String after, int limit) {
    return roles.names(after, limit);
  }

  /** Deletes a role; NOT_FOUND when there is none. Tokens it gave out stay valid. */
  public void delete(String name) {
    if (!roles.delete(name)) {
      throw KeywardenException.notFound("no jwt role named '" + Inputs.quoted(name) + "'");
    }
    forgetUnusedSources();
  }

  /** Checks {@code jwt} against the role and makes a token with the role's policies. */
  public TokenStore.Issued login(String roleName, String jwt) {
    JwtRoleRecords.checkName(roleName);
    CompactJwt parsed = CompactJwt.parse(jwt);
    JwtRole role = roles.find(roleName).orElseThrow(() -> new KeywardenException(Kind.UNAUTHENTICATED,
        "JWT login refused: no jwt role named '" + Inputs.quoted(roleName) + "'"));
    JwtVerifier.Verified v = verifier.verify(role, parsed);
    Duration ttl = role.tokenTtl();
    if (!role.tokenOutlivesJwt()) {
      // A second of margin: the token store reads the clock again, and the token must not outlive the JWT.
      long left = v.expiresAt().toEpochMilli() - clock.millis() - 1000;
      if (left < 1000) {
        // Accepted within the clock skew, yet (nearly) expired; and a zero TTL would mean "forever".
        throw new KeywardenException(Kind.UNAUTHENTICATED, "JWT login refused: the JWT expires in less than 2"
            + " seconds; get a fresh one");
      }
      ttl = ttl.toMillis() <= left ? ttl : Duration.ofMillis(left);
    }
    Map<String, String> metadata = Map.of("auth", "jwt", "role", roleName,
        "jwt_subject", cut(v.subject()), "jwt_issuer", cut(v.issuer()));
    return tokens.create(role.policies(), ttl, "jwt-" + roleName, null, metadata);
  }

  private static String cut(String s) {
    return s.length() <= MAX_METADATA ? s : s.substring(0, MAX_METADATA);
  }

  private void forgetUnusedSources() {
    Set<IssuerKeys.SourceKey> used = new HashSet<>();
    for (String name : roles.names()) {
      try {
        roles.find(name).filter(JwtRole::fetchesKeys).ifPresent(r -> used.add(IssuerKeys.SourceKey.of(r)));
      } catch (KeywardenException damaged) {
        // A damaged role logs nobody in; its source may go.
      }
    }
    keys.retainOnly(used);
  }

  /** Fetched key sources held (for tests). */
  int keySources() {
    return keys.sources();
  }
}
