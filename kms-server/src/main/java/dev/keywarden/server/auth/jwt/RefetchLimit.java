package dev.keywarden.server.auth.jwt;

import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSetCacheRefreshEvaluator;
import com.nimbusds.jose.jwk.source.JWKSetSource;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.SecurityContext;
import java.io.IOException;

/**
 * At most one unknown-kid refetch per interval per key source. Sits under Nimbus's cache, which asks with
 * {@link JWKSetCacheRefreshEvaluator#noRefresh()} to fill an empty or expired cache (never limited: the keys are
 * needed) and with a reference comparison when a JWT names a kid the cached set lacks (limited here). So an issuer's
 * rotation is followed at once — its first refetch is never refused, even right after a fill — and a flood of made-up
 * kids costs the issuer one fetch per interval. (Nimbus's own rate limiter counts fills too and lets two fetches
 * through per window.)
 */
final class RefetchLimit implements JWKSetSource<SecurityContext> {
  private final JWKSetSource<SecurityContext> source;
  private final long intervalMillis;
  private long lastRefetch;
  private boolean refetched;

  RefetchLimit(JWKSetSource<SecurityContext> source, long intervalMillis) {
    this.source = source;
    this.intervalMillis = intervalMillis;
  }

  @Override
  public JWKSet getJWKSet(JWKSetCacheRefreshEvaluator refresh, long currentTime, SecurityContext context)
      throws KeySourceException {
    if (refresh != JWKSetCacheRefreshEvaluator.noRefresh()) {
      synchronized (this) {
        if (refetched && currentTime - lastRefetch < intervalMillis) {
          throw new RateLimitReachedException();
        }
        refetched = true;
        lastRefetch = currentTime;
      }
    }
    return source.getJWKSet(refresh, currentTime, context);
  }

  @Override
  public void close() throws IOException {
    source.close();
  }
}
