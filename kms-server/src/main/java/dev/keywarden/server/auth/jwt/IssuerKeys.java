package dev.keywarden.server.auth.jwt;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.SecurityContext;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The public keys a role's JWTs may be signed with. Fetched keys come from one Nimbus {@link JWKSource} per key
 * source (URL, discovery URL, issuer, CA), shared by the roles that name it: the JWK Set is cached for
 * {@link #CACHE_TTL_MILLIS}; a JWT whose kid is not in it makes Nimbus refetch once, and {@link RefetchLimit} lets at
 * most one such refetch through per {@link #MIN_FETCH_INTERVAL_MILLIS} per source, so a flood of made-up kids cannot
 * hammer the issuer while a rotation is still followed at once. Static keys are the role's own.
 *
 * <p>Invalidation: a source is keyed by its whole configuration, so a role that changes how keys are fetched gets a
 * new source; {@link #retainOnly} drops sources no role names any more (after a role write or delete).
 */
final class IssuerKeys {
  static final long CACHE_TTL_MILLIS = 5 * 60_000;
  static final long CACHE_REFRESH_TIMEOUT_MILLIS = 15_000;
  static final long MIN_FETCH_INTERVAL_MILLIS = 10_000;

  /** What identifies a fetched key source. */
  record SourceKey(String jwksUrl, String discoveryUrl, String issuer, String caPem) {
    static SourceKey of(JwtRole role) {
      return new SourceKey(role.jwksUrl(), role.oidcDiscoveryUrl(),
          role.oidcDiscoveryUrl() == null ? null : role.issuer(), role.jwksCaPem());
    }

    @Override
    public String toString() {
      return "SourceKey[" + (jwksUrl != null ? jwksUrl : discoveryUrl) + "]";
    }
  }

  private final ConcurrentHashMap<SourceKey, JWKSource<SecurityContext>> remote = new ConcurrentHashMap<>();

  /** The role's keys that could have signed a JWT with this header (matching kid, key type, curve, use). */
  List<JWK> candidates(JwtRole role, JWSHeader header) {
    if (!role.fetchesKeys()) {
      return staticCandidates(role, header);
    }
    JWKSource<SecurityContext> source = remote.computeIfAbsent(SourceKey.of(role), IssuerKeys::open);
    try {
      // Nimbus refetches (rate-limited) when nothing in the cached set matches.
      return source.get(new JWKSelector(matcher(header, true)), null);
    } catch (RateLimitReachedException e) {
      // The refetch for this unknown kid was refused: the keys were fetched moments ago and did not have it.
      return List.of();
    } catch (KeySourceException e) {
      throw unavailable(role, e);
    }
  }

  /** Forgets fetched sources that none of {@code roles} uses. */
  void retainOnly(Set<SourceKey> used) {
    for (SourceKey k : List.copyOf(remote.keySet())) {
      if (!used.contains(k)) {
        JWKSource<SecurityContext> gone = remote.remove(k);
        if (gone instanceof java.io.Closeable c) {
          try {
            c.close();
          } catch (IOException ignored) {
            // nothing held open between fetches
          }
        }
      }
    }
  }

  /** How many fetched sources are held (for tests). */
  int sources() {
    return remote.size();
  }

  private static JWKSource<SecurityContext> open(SourceKey key) {
    JwksFetcher http = new JwksFetcher(key.caPem());
    return JWKSourceBuilder.create(new RefetchLimit(
            new RemoteJwks(http, key.jwksUrl(), key.discoveryUrl(), key.issuer()), MIN_FETCH_INTERVAL_MILLIS))
        .cache(CACHE_TTL_MILLIS, CACHE_REFRESH_TIMEOUT_MILLIS)
        .refreshAheadCache(false)
        .rateLimited(false)
        .retrying(false)
        .outageTolerant(false)
        .build();
  }

  private static List<JWK> staticCandidates(JwtRole role, JWSHeader header) {
    List<JWK> all = new ArrayList<>();
    if (role.staticJwks() != null) {
      all.addAll(JwksDocument.parse(role.staticJwks(), "static_keys.jwks").getKeys());
    }
    for (String pem : role.staticPems()) {
      all.add(PemPublicKeys.parse(pem, "static_keys.public_key_pems"));
    }
    JWKSet set = new JWKSet(all);
    List<JWK> found = new JWKSelector(matcher(header, true)).select(set);
    if (found.isEmpty() && header.getKeyID() != null) {
      // A PEM key has no kid: it answers for any kid.
      found = new JWKSelector(matcher(header, false)).select(set).stream().filter(k -> k.getKeyID() == null)
          .toList();
    }
    return found;
  }

  /** Keys that fit the header's algorithm (and its kid, when {@code byKid} and it names one). */
  static JWKMatcher matcher(JWSHeader header, boolean byKid) {
    JWSAlgorithm alg = header.getAlgorithm();
    JWKMatcher.Builder b = new JWKMatcher.Builder().keyUses(KeyUse.SIGNATURE, null).algorithms(alg, null);
    if (JWSAlgorithm.Family.RSA.contains(alg)) {
      b.keyType(KeyType.RSA);
    } else if (JWSAlgorithm.Family.EC.contains(alg)) {
      b.keyType(KeyType.EC).curves(Curve.forJWSAlgorithm(alg));
    } else {
      b.keyType(KeyType.OKP).curves(Curve.Ed25519);
    }
    if (byKid && header.getKeyID() != null) {
      b.keyID(header.getKeyID());
    }
    return b.build();
  }

  private static KeywardenException unavailable(JwtRole role, KeySourceException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof KeywardenException k) {
        return new KeywardenException(Kind.UNAVAILABLE, "cannot get the keys of issuer '"
            + Inputs.quoted(role.issuer()) + "': " + k.getMessage());
      }
    }
    return new KeywardenException(Kind.UNAVAILABLE, "cannot get the keys of issuer '" + Inputs.quoted(role.issuer())
        + "': " + e.getClass().getSimpleName() + "; retry later");
  }
}
