package dev.keywarden.jwt;

import static dev.keywarden.jwt.JwtFixture.issuer;
import static dev.keywarden.jwt.JwtFixture.kid;
import static dev.keywarden.jwt.JwtFixture.kids;
import static dev.keywarden.jwt.JwtFixture.refusal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The life of versions, driven by a clock moved by hand: pending, active, verify-only, retired, destroyed. */
class JwtKeyLifecycleTest {
  private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  @TempDir
  Path dir;
  MutableClock clock = MutableClock.stoppedAt(T0);
  JwtFixture f;

  @BeforeEach
  void setUp() throws Exception {
    f = new JwtFixture(dir, clock);
  }

  @AfterEach
  void tearDown() {
    f.close();
  }

  private JwtVersionState state(String key, String kid) {
    return f.jwt.key(key).version(kid).orElseThrow().state();
  }

  @Test
  void newKeyIsPublishedPendingAndSignsOnlyOncePublishAheadHasPassedEvenWithoutATick() throws Exception {
    JwtKeyInfo created = f.keyWithRole(JwtKeySettings.of("idp", JwtAlgorithm.ES256, issuer("idp")));
    String kid = created.versions().get(0).kid();
    assertEquals(JwtVersionState.PENDING, created.versions().get(0).state());
    assertEquals(List.of(kid), kids(f.jwt.jwks("idp").json()));
    assertEquals(Duration.ofMinutes(59), f.jwt.jwks("idp").maxAge()); // publish_ahead 1h less the 60s skew

    clock.advance(Duration.ofMinutes(59).plusSeconds(59));
    KeywardenException early = refusal(() -> f.signOne("idp"));
    assertEquals(Kind.FAILED_PRECONDITION, early.kind());
    assertTrue(early.getMessage().contains("no active version yet") && early.getMessage().contains("10:59:59")
        || early.getMessage().contains("11:00"), early.getMessage());

    clock.advance(Duration.ofSeconds(1)); // no tick ran: the stored times alone make it active
    String token = f.signOne("idp");
    assertEquals(kid, kid(token));
    assertEquals(JwtVersionState.ACTIVE, state("idp", kid));
    assertTrue(JwtFixture.nimbusVerifies(f.jwt.jwks("idp").json(), token));
    VerifiedJwt v = f.jwt.verify("idp", token, Optional.of("api"));
    assertEquals(Optional.of("alice"), v.subject());
    assertEquals(issuer("idp"), v.claims().get("iss"));
  }

  @Test
  void rotatedVersionStaysVerifiableUntilItsLastTokenExpiresThenTidyDestroysItsHsmKey() throws Exception {
    String v1 = f.keyWithRole(JwtKeySettings.of("idp", JwtAlgorithm.ES256, issuer("idp")))
        .versions().get(0).kid();
    clock.advance(Duration.ofHours(1));
    RotationResult rotation = f.jwt.rotate("idp", false);
    String v2 = rotation.kid();
    assertNotEquals(v1, v2);
    assertTrue(rotation.newVersion());
    assertEquals(clock.instant().plus(Duration.ofHours(1)), rotation.activeFrom());
    RotationResult again = f.jwt.rotate("idp", false);
    assertFalse(again.newVersion(), "a second rotation keeps the pending version");
    assertEquals(v2, again.kid());
    assertEquals(List.of(v2, v1), kids(f.jwt.jwks("idp").json()));

    clock.advance(Duration.ofMinutes(59));
    String lastOfV1 = f.signOne("idp"); // exp = 11:59 + 15 min = 12:14, recorded rounded up to 12:15
    assertEquals(v1, kid(lastOfV1));
    clock.advance(Duration.ofMinutes(1));
    assertEquals(v2, kid(f.signOne("idp")));
    assertEquals(JwtVersionState.VERIFY_ONLY, state("idp", v1));
    JwtVersionInfo old = f.jwt.key("idp").version(v1).orElseThrow();
    assertEquals(Instant.parse("2026-03-01T12:15:00Z").plusSeconds(60), old.verifiableUntil().orElseThrow());

    clock.advance(Duration.ofMinutes(14)); // 12:14, the last v1 token's exp
    assertEquals("alice", f.jwt.verify("idp", lastOfV1, Optional.empty()).subject().orElseThrow());
    assertTrue(f.privateKeysOnToken().contains(old.hsmLabel().orElseThrow()));
    assertTrue(f.jwt.tidy(clock.instant()).changes().stream().noneMatch(c -> c.to() == JwtVersionState.DESTROYED),
        "nothing is retired yet");

    clock.advance(Duration.ofMinutes(2)); // 12:16: past signed_until (12:15) + skew (60 s)
    assertEquals(JwtVersionState.RETIRED, state("idp", v1));
    assertEquals(List.of(v2), kids(f.jwt.jwks("idp").json()));
    assertEquals(Kind.UNAUTHENTICATED, refusal(() -> f.jwt.verify("idp", lastOfV1, Optional.empty())).kind());

    LifecycleReport tidied = f.jwt.tidy(clock.instant());
    assertTrue(tidied.changes().stream().anyMatch(c -> c.kid().equals(v1) && c.to() == JwtVersionState.DESTROYED),
        tidied.toString());
    assertEquals(JwtVersionState.DESTROYED, state("idp", v1));
    assertFalse(f.privateKeysOnToken().contains(old.hsmLabel().orElseThrow()), "the HSM key pair is destroyed");
    assertTrue(f.jwt.tidy(clock.instant()).changes().isEmpty(), "tidy is idempotent");
  }

  @Test
  void emergencyRotationSignsAtOnceAndWarnsThatVerifiersMayNotKnowTheNewKid() throws Exception {
    f.keyWithRole(JwtKeySettings.of("idp", JwtAlgorithm.ES256, issuer("idp")));
    clock.advance(Duration.ofHours(1));
    String v1 = kid(f.signOne("idp"));
    RotationResult now = f.jwt.rotate("idp", true);
    assertTrue(now.newVersion());
    assertEquals(clock.instant(), now.activeFrom());
    assertTrue(now.warning().orElseThrow().contains("may reject"), now.warning().toString());
    assertEquals(now.kid(), kid(f.signOne("idp")));
    assertEquals(JwtVersionState.VERIFY_ONLY, state("idp", v1));

    // An emergency with a version already pending promotes that one (published since its creation).
    RotationResult planned = f.jwt.rotate("idp", false);
    clock.advance(Duration.ofMinutes(30));
    RotationResult promoted = f.jwt.rotate("idp", true);
    assertEquals(planned.kid(), promoted.kid());
    assertFalse(promoted.newVersion());
    assertTrue(promoted.warning().isPresent(), "published 30 min, cached up to 59 min: some verifiers lack it");
    assertEquals(planned.kid(), kid(f.signOne("idp")));
  }

  @Test
  void revokingTheActiveVersionTakesItOutOfTheJwksAtOnceAndActivatesAReplacement() throws Exception {
    f.keyWithRole(JwtKeySettings.of("idp", JwtAlgorithm.ES256, issuer("idp")));
    clock.advance(Duration.ofHours(1));
    String token = f.signOne("idp");
    String v1 = kid(token);

    RevocationResult revoked = f.jwt.revokeVersion("idp", v1);
    assertTrue(revoked.wasActive());
    String v2 = revoked.replacement().orElseThrow().kid();
    assertEquals(List.of(v2), kids(f.jwt.jwks("idp").json()));
    assertEquals(JwtVersionState.RETIRED, state("idp", v1));
    KeywardenException refused = refusal(() -> f.jwt.verify("idp", token, Optional.empty()));
    assertEquals(Kind.UNAUTHENTICATED, refused.kind());
    assertTrue(refused.getMessage().contains("revoked"), refused.getMessage());
    assertEquals(v2, kid(f.signOne("idp")));

    // Revoking a pending version: it never signs, the active one goes on.
    String pending = f.jwt.rotate("idp", false).kid();
    assertFalse(f.jwt.revokeVersion("idp", pending).wasActive());
    clock.advance(Duration.ofHours(2));
    assertEquals(v2, kid(f.signOne("idp")));
    assertFalse(kids(f.jwt.jwks("idp").json()).contains(pending));

    f.jwt.tidy(clock.instant());
    String onToken = f.privateKeysOnToken();
    for (String kid : List.of(v1, pending)) {
      assertEquals(JwtVersionState.DESTROYED, state("idp", kid));
      assertFalse(onToken.contains(f.jwt.key("idp").version(kid).orElseThrow().hsmLabel().orElseThrow()));
    }
  }

  @Test
  void scheduledRotationPublishesTheNextVersionAheadAndActivatesItOnePeriodLater() throws Exception {
    JwtKeySettings s = JwtKeySettings.of("idp", JwtAlgorithm.ES256, issuer("idp"))
        .withRotationPeriod(Optional.of(Duration.ofHours(24)));
    String v1 = f.keyWithRole(s).versions().get(0).kid();
    Instant v1Active = T0.plus(Duration.ofHours(1));
    clock.advance(Duration.ofHours(1));
    assertTrue(f.jwt.tick(clock.instant()).rotations().isEmpty());

    clock.advance(Duration.ofHours(22).plusMinutes(59)); // 1 min before the next version must be published
    assertTrue(f.jwt.tick(clock.instant()).rotations().isEmpty());
    clock.advance(Duration.ofMinutes(1));
    LifecycleReport report = f.jwt.tick(clock.instant());
    RotationResult next = report.rotations().get(0);
    assertEquals(v1Active.plus(Duration.ofHours(24)), next.activeFrom());
    assertTrue(f.jwt.tick(clock.instant()).rotations().isEmpty(), "the tick is idempotent");
    assertEquals(v1, kid(f.signOne("idp")));

    clock.advance(Duration.ofHours(1));
    assertEquals(next.kid(), kid(f.signOne("idp")));
    LifecycleReport promoted = f.jwt.tick(clock.instant());
    assertTrue(promoted.changes().stream().anyMatch(c -> c.kid().equals(next.kid())
        && c.to() == JwtVersionState.ACTIVE), promoted.toString());
    assertTrue(promoted.changes().stream().anyMatch(c -> c.kid().equals(v1)
        && c.to() == JwtVersionState.VERIFY_ONLY), promoted.toString());
    assertEquals(null, f.jwt.tick(clock.instant()).summary(), "nothing more to say");
  }

  @Test
  void aTickMissedForDaysStillLetsTheDueVersionSignAndRetiresWhatExpired() throws Exception {
    f.keyWithRole(JwtKeySettings.of("idp", JwtAlgorithm.ES256, issuer("idp")));
    clock.advance(Duration.ofHours(1));
    String v1 = kid(f.signOne("idp"));
    String v2 = f.jwt.rotate("idp", false).kid();
    clock.advance(Duration.ofMinutes(59));
    assertEquals(v1, kid(f.signOne("idp")), "v2 is still pending a minute before its time");
    clock.advance(Duration.ofDays(3));
    assertEquals(v2, kid(f.signOne("idp")));
    assertEquals(List.of(v2), kids(f.jwt.jwks("idp").json()));
    LifecycleReport late = f.jwt.tick(clock.instant());
    assertTrue(late.changes().stream().anyMatch(c -> c.kid().equals(v1) && c.to() == JwtVersionState.RETIRED),
        late.toString());
  }

  @Test
  void stateSurvivesARestartOverTheSameStorage() throws Exception {
    f.keyWithRole(JwtKeySettings.of("idp", JwtAlgorithm.ES256, issuer("idp")));
    clock.advance(Duration.ofHours(1));
    String token = f.signOne("idp");
    String v2 = f.jwt.rotate("idp", false).kid();
    String jwksBefore = f.jwt.jwks("idp").json();

    f.restart();
    assertEquals(jwksBefore, f.jwt.jwks("idp").json());
    assertEquals(kid(token), kid(f.signOne("idp")), "the new version is still pending after the restart");
    assertEquals("alice", f.jwt.verify("idp", token, Optional.of("api")).subject().orElseThrow());
    clock.advance(Duration.ofHours(1));
    assertEquals(v2, kid(f.signOne("idp")));
    assertEquals(JwtVersionState.VERIFY_ONLY, f.jwt.key("idp").version(kid(token)).orElseThrow().state());
  }
}
