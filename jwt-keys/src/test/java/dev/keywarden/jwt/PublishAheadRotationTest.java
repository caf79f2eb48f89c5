package dev.keywarden.jwt;

import static dev.keywarden.jwt.JwtFixture.issuer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What publishing ahead is for: verifiers that cache the JWKS never meet a token whose version they have not seen.
 * Scheduled rotations every 6 h, the lifecycle tick every 5 min (as the server runs it), a token signed at every step.
 */
class PublishAheadRotationTest {
  private static final Duration STEP = Duration.ofMinutes(5);
  @TempDir
  Path dir;

  record Signed(Instant at, String token) {}

  record Fetched(Instant at, String jwks, Duration maxAge) {}

  @Test
  void aVerifierThatFetchedTheJwksOnceBeforeAScheduledRotationVerifiesEveryTokenIssuedAcrossIt() throws Exception {
    MutableClock clock = MutableClock.stoppedAt(Instant.parse("2026-05-01T00:00:00Z"));
    try (JwtFixture f = new JwtFixture(dir, clock)) {
      f.keyWithRole(JwtKeySettings.of("idp", JwtAlgorithm.ES256, issuer("idp"))
          .withRotationPeriod(Optional.of(Duration.ofHours(6))));
      clock.advance(Duration.ofHours(1)); // the first version is active

      List<Signed> tokens = new ArrayList<>();
      List<Fetched> fetches = new ArrayList<>();
      List<RotationResult> rotations = new ArrayList<>();
      Fetched onceBeforeRotation = null;
      for (int step = 0; step < 3 * 6 * 12; step++) {
        LifecycleReport tick = f.jwt.tick(clock.instant());
        rotations.addAll(tick.rotations());
        PublishedJwks jwks = f.jwt.jwks("idp");
        Fetched fetched = new Fetched(clock.instant(), jwks.json(), jwks.maxAge());
        fetches.add(fetched);
        if (onceBeforeRotation == null && !tick.rotations().isEmpty()) {
          onceBeforeRotation = fetched; // the next version was just published; it signs in an hour
        }
        tokens.add(new Signed(clock.instant(), f.signOne("idp")));
        clock.advance(STEP);
      }
      assertEquals(3, rotations.size(), rotations.toString());
      Set<String> signingKids = new HashSet<>();
      for (Signed s : tokens) {
        signingKids.add(JwtFixture.kid(s.token()));
      }
      // 18 h from the first activation: published at +5 h, +11 h, +17 h; the third signs only from +18 h.
      assertEquals(3, signingKids.size(), "the first version and two rotated ones signed");

      // Fetched once, never again: every token from the fetch until an hour after the new version took over.
      Instant takeover = rotations.get(0).activeFrom();
      int checked = 0;
      for (Signed s : tokens) {
        if (!s.at().isBefore(onceBeforeRotation.at()) && s.at().isBefore(takeover.plus(Duration.ofHours(1)))) {
          assertTrue(JwtFixture.nimbusVerifies(onceBeforeRotation.jwks(), s.token()), "token of " + s.at());
          checked++;
        }
      }
      assertEquals(2 * 12, checked, "an hour of old-version tokens and an hour of new-version tokens");

      // Any verifier that keeps a fetched JWKS for its max-age verifies every token signed meanwhile.
      for (Fetched fetched : fetches) {
        for (Signed s : tokens) {
          if (!s.at().isBefore(fetched.at()) && s.at().isBefore(fetched.at().plus(fetched.maxAge()))) {
            assertTrue(JwtFixture.nimbusVerifies(fetched.jwks(), s.token()),
                "JWKS fetched " + fetched.at() + ", token signed " + s.at());
          }
        }
      }
    }
  }
}
