package dev.keywarden.server.auth.jwt;

import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSetCacheRefreshEvaluator;
import com.nimbusds.jose.jwk.source.JWKSetRetrievalException;
import com.nimbusds.jose.jwk.source.JWKSetSource;
import com.nimbusds.jose.proc.SecurityContext;
import dev.keywarden.failure.KeywardenException;

/**
 * One fetch of an issuer's keys: the JWKS URL, or for OIDC discovery the discovery document first (so a moved
 * {@code jwks_uri} is followed) and then its JWKS. Caching and rate limiting wrap it ({@link IssuerKeys}); this class
 * only fetches and parses, bounded by {@link JwksFetcher}.
 */
final class RemoteJwks implements JWKSetSource<SecurityContext> {
  static final String DISCOVERY_PATH = "/.well-known/openid-configuration";

  private final JwksFetcher http;
  private final String jwksUrl;
  private final String discoveryUrl;
  private final String issuer;

  /** Fetches {@code jwksUrl}, or when it is null discovers it at {@code discoveryUrl} for {@code issuer}. */
  RemoteJwks(JwksFetcher http, String jwksUrl, String discoveryUrl, String issuer) {
    this.http = http;
    this.jwksUrl = jwksUrl;
    this.discoveryUrl = discoveryUrl;
    this.issuer = issuer;
  }

  @Override
  public JWKSet getJWKSet(JWKSetCacheRefreshEvaluator refresh, long currentTime, SecurityContext context)
      throws KeySourceException {
    try {
      String url = jwksUrl;
      if (url == null) {
        String doc = discoveryUrl.endsWith(DISCOVERY_PATH) ? discoveryUrl
            : discoveryUrl.replaceAll("/+$", "") + DISCOVERY_PATH;
        url = JwksDocument.jwksUri(http.get(doc), issuer, "the OIDC discovery document at " + doc);
        JwtRole.checkUrl("the discovered jwks_uri", url);
      }
      return JwksDocument.parse(http.get(url), "the JWKS at " + url);
    } catch (KeywardenException e) {
      // Nimbus's cache and rate limiter pass KeySourceExceptions on; ours rides inside with its safe message.
      throw new JWKSetRetrievalException(e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    // Nothing held: the HTTP client has no connection to close between fetches.
  }
}
