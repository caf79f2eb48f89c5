package dev.keywarden.server.auth.jwt;

import static org.junit.jupiter.api.Assertions.*;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSetCacheRefreshEvaluator;
import com.nimbusds.jose.jwk.source.JWKSetSource;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.SecurityContext;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Unknown-kid refetches: one per interval; cache fills never limited, so a rotation right after a fill is followed. */
class RefetchLimitTest {
  final AtomicInteger fetches = new AtomicInteger();
  final JWKSetSource<SecurityContext> issuer = new JWKSetSource<>() {
    @Override
    public JWKSet getJWKSet(JWKSetCacheRefreshEvaluator refresh, long now, SecurityContext context) {
      fetches.incrementAndGet();
      return new JWKSet();
    }

    @Override
    public void close() {}
  };

  @Test
  void oneRefetchPerIntervalAndFillsAreNeverRefused() throws Exception {
    RefetchLimit limit = new RefetchLimit(issuer, 10_000);
    JWKSet cached = new JWKSet();
    limit.getJWKSet(JWKSetCacheRefreshEvaluator.noRefresh(), 0, null);          // the cache fill
    limit.getJWKSet(JWKSetCacheRefreshEvaluator.referenceComparison(cached), 1_000, null); // a rotation: let through
    for (long t = 1_001; t < 11_000; t += 500) {
      long now = t;
      assertThrows(RateLimitReachedException.class,
          () -> limit.getJWKSet(JWKSetCacheRefreshEvaluator.referenceComparison(cached), now, null));
    }
    limit.getJWKSet(JWKSetCacheRefreshEvaluator.noRefresh(), 5_000, null);     // an expired cache refills anyway
    limit.getJWKSet(JWKSetCacheRefreshEvaluator.referenceComparison(cached), 11_000, null);
    assertEquals(4, fetches.get());
  }
}
