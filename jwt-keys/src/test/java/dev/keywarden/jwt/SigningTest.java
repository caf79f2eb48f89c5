package dev.keywarden.jwt;

import static dev.keywarden.jwt.JwtFixture.ALICE;
import static dev.keywarden.jwt.JwtFixture.issuer;
import static dev.keywarden.jwt.JwtFixture.kid;
import static dev.keywarden.jwt.JwtFixture.kids;
import static dev.keywarden.jwt.JwtFixture.refusal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jwt.SignedJWT;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Signing batches under roles, what the signing path costs in storage, and verification's refusals. */
class SigningTest {
  private static final Instant T0 = Instant.parse("2026-04-01T08:00:00Z");
  @TempDir
  Path dir;
  MutableClock clock = MutableClock.stoppedAt(T0);
  JwtFixture f;

  @BeforeEach
  void setUp() throws Exception {
    f = new JwtFixture(dir, clock);
    f.jwt.createKey(JwtKeySettings.of("idp", JwtAlgorithm.ES256, issuer("idp")).withPublishAhead(Duration.ZERO));
    f.jwt.writeRole(JwtRole.builder("orders", "idp").allowedAudiences("orders-api", "billing-*")
        .allowClaim("scope", "orders:*").allowFutureNbf(true).maxTtl(Duration.ofMinutes(10)).build());
  }

  @AfterEach
  void tearDown() {
    f.close();
  }

  private List<SignResult> sign(List<Map<String, Object>> items, Optional<Duration> ttl) {
    return f.jwt.sign("idp", "orders", ALICE, items, ttl);
  }

  @Test
  void aBatchRefusesOnlyTheItemsOutsideTheRoleNamingTheClaimAndTheRule() throws Exception {
    List<SignResult> results = sign(List.of(
        Map.of("aud", "orders-api", "scope", "orders:read"),
        Map.of("aud", "payroll"),
        Map.of("aud", List.of("billing-eu", "orders-api"), "scope", List.of("orders:read", "orders:write")),
        Map.of("aud", "orders-api", "iss", "https://evil.example")), Optional.empty());
    assertTrue(results.get(0).ok());
    assertEquals(Kind.INVALID_ARGUMENT, results.get(1).error().orElseThrow().kind());
    String why = results.get(1).error().orElseThrow().message();
    assertTrue(why.contains("claim 'aud' 'payroll'") && why.contains("role 'orders'")
        && why.contains("allowed_audiences"), why);
    assertTrue(results.get(2).ok());
    assertTrue(results.get(3).error().orElseThrow().message().contains("claim 'iss' is set by the server"));

    SignedJWT token = SignedJWT.parse(results.get(2).token().orElseThrow());
    assertEquals(List.of("billing-eu", "orders-api"), token.getJWTClaimsSet().getAudience());
    assertEquals("alice", token.getJWTClaimsSet().getSubject());
    assertEquals(issuer("idp"), token.getJWTClaimsSet().getIssuer());
    assertEquals(600, (token.getJWTClaimsSet().getExpirationTime().getTime()
        - token.getJWTClaimsSet().getIssueTime().getTime()) / 1000, "the role's max_ttl by default");
    assertTrue(token.getJWTClaimsSet().getJWTID().length() >= 22);
    assertTrue(!token.getJWTClaimsSet().getJWTID().equals(SignedJWT.parse(results.get(0).token().orElseThrow())
        .getJWTClaimsSet().getJWTID()), "jti is random per token");
  }

  @Test
  void aBadKeyRoleTtlOrBatchFailsTheWholeCall() throws Exception {
    Map<String, Object> ok = Map.of("aud", "orders-api");
    KeywardenException ttl = refusal(() -> sign(List.of(ok), Optional.of(Duration.ofMinutes(11))));
    assertEquals(Kind.INVALID_ARGUMENT, ttl.kind());
    assertTrue(ttl.getMessage().contains("max_ttl 600s"), ttl.getMessage());
    assertEquals(Kind.NOT_FOUND, refusal(() -> f.jwt.sign("idp", "nope", ALICE, List.of(ok), Optional.empty()))
        .kind());
    f.jwt.createKey(JwtKeySettings.of("other", JwtAlgorithm.ES256, issuer("other")));
    KeywardenException wrongKey = refusal(() -> f.jwt.sign("other", "orders", ALICE, List.of(ok), Optional.empty()));
    assertTrue(wrongKey.getMessage().contains("signs with JWT key 'idp'"), wrongKey.getMessage());
    assertEquals(Kind.INVALID_ARGUMENT, refusal(() -> sign(List.of(), Optional.empty())).kind());
    assertEquals(Kind.INVALID_ARGUMENT, refusal(() -> sign(Collections.nCopies(JwtEngine.MAX_BATCH + 1, ok),
        Optional.empty())).kind());
    KeywardenException tooLong = refusal(() -> f.jwt.writeRole(JwtRole.builder("long", "idp")
        .allowedAudiences("x").maxTtl(Duration.ofHours(1)).build()));
    assertTrue(tooLong.getMessage().contains("max_token_ttl"), tooLong.getMessage());
  }

  @Test
  void signingReadsAndWritesNoStorageUntilATokenOutlivesTheRecordedSignedUntil() {
    Map<String, Object> ok = Map.of("aud", "orders-api");
    sign(List.of(ok), Optional.empty()); // warm: key and role read, signed_until raised to 08:10
    f.counting.jwtReads.set(0);
    f.counting.jwtWrites.set(0);
    for (int i = 0; i < 20; i++) {
      assertTrue(sign(List.of(ok, ok, ok), Optional.empty()).stream().allMatch(SignResult::ok));
    }
    assertEquals(0, f.counting.jwtReads.get(), "no storage read per token");
    assertEquals(0, f.counting.jwtWrites.get(), "no storage write per token");

    clock.advance(Duration.ofMinutes(1)); // exp 08:11 passes the recorded 08:10: raised to 08:15, once
    sign(List.of(ok), Optional.empty());
    sign(List.of(ok), Optional.empty());
    assertEquals(1, f.counting.jwtWrites.get());
  }

  @Test
  void signingThroughputWithAnHsmAndASoftwareKey() {
    f.jwt.createKey(JwtKeySettings.of("soft", JwtAlgorithm.ES256, issuer("soft")).withSoftware(true)
        .withPublishAhead(Duration.ZERO));
    f.jwt.writeRole(JwtRole.builder("soft", "soft").allowedAudiences("api").build());
    List<Map<String, Object>> batch = Collections.nCopies(1000, Map.of("aud", "orders-api"));
    List<Map<String, Object>> softBatch = Collections.nCopies(1000, Map.of("aud", "api"));
    List<String> lines = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      long t0 = System.nanoTime();
      assertTrue(sign(batch, Optional.empty()).stream().allMatch(SignResult::ok));
      long t1 = System.nanoTime();
      assertTrue(f.jwt.sign("soft", "soft", ALICE, softBatch, Optional.empty()).stream().allMatch(SignResult::ok));
      long t2 = System.nanoTime();
      lines.add(String.format("round %d: ES256 HSM (SoftHSM2) %.0f tokens/s, software %.0f tokens/s", round,
          1000 / ((t1 - t0) / 1e9), 1000 / ((t2 - t1) / 1e9)));
    }
    System.out.println("JWT signing, 1000-token batches, one thread: " + String.join("; ", lines));
  }

  @Test
  void verifyRefusesTheWrongAudienceAnExpiredTokenAndAnotherKeysToken() throws Exception {
    String token = sign(List.of(Map.of("aud", "orders-api")), Optional.of(Duration.ofMinutes(5))).get(0).token()
        .orElseThrow();
    assertEquals("alice", f.jwt.verify("idp", token, Optional.of("orders-api")).subject().orElseThrow());
    KeywardenException aud = refusal(() -> f.jwt.verify("idp", token, Optional.of("billing-eu")));
    assertEquals(Kind.UNAUTHENTICATED, aud.kind());
    assertTrue(aud.getMessage().contains("audience"), aud.getMessage());

    f.jwt.createKey(JwtKeySettings.of("other", JwtAlgorithm.ES256, issuer("other")).withPublishAhead(Duration.ZERO));
    KeywardenException other = refusal(() -> f.jwt.verify("other", token, Optional.empty()));
    assertEquals(Kind.UNAUTHENTICATED, other.kind());
    assertTrue(other.getMessage().contains("no version of key 'other' has kid"), other.getMessage());

    clock.advance(Duration.ofMinutes(6)); // exp + 60 s skew is the last moment
    f.jwt.verify("idp", token, Optional.empty());
    clock.advance(Duration.ofSeconds(1));
    KeywardenException expired = refusal(() -> f.jwt.verify("idp", token, Optional.empty()));
    assertEquals(Kind.UNAUTHENTICATED, expired.kind());
    assertTrue(expired.getMessage().contains("expired"), expired.getMessage());
    assertEquals(Kind.INVALID_ARGUMENT, refusal(() -> f.jwt.verify("idp", "not.a-token", Optional.empty())).kind());
  }

  @Test
  void aFutureNbfTheRoleAllowsIsHonouredByVerify() {
    long nbf = T0.getEpochSecond() + 300;
    String token = sign(List.of(Map.of("aud", "orders-api", "nbf", nbf)), Optional.empty()).get(0).token()
        .orElseThrow();
    clock.advance(Duration.ofMinutes(3));
    KeywardenException early = refusal(() -> f.jwt.verify("idp", token, Optional.empty()));
    assertTrue(early.getMessage().contains("not valid before"), early.getMessage());
    clock.advance(Duration.ofMinutes(1)); // 60 s before nbf: within the skew
    f.jwt.verify("idp", token, Optional.empty());
  }

  @Test
  void aKeyOfShortLivedTokensRetiresItsOldVersionWithinItsTtlNotFiveMinutes() throws Exception {
    f.jwt.createKey(JwtKeySettings.of("short", JwtAlgorithm.ES256, issuer("short")).withPublishAhead(Duration
        .ofSeconds(4)).withRotationPeriod(Optional.of(Duration.ofSeconds(12))).withMaxTokenTtl(Duration.ofSeconds(4))
        .withSkew(Duration.ofSeconds(2)));
    f.jwt.writeRole(JwtRole.builder("short", "short").allowedAudiences("api").maxTtl(Duration.ofSeconds(4)).build());
    clock.advance(Duration.ofSeconds(4));
    String old = kid(f.jwt.sign("short", "short", ALICE, List.of(Map.of()), Optional.empty()).get(0).token()
        .orElseThrow()); // exp T0+8s: signed_until 8s (a step of the 4s TTL, not 5 minutes)
    clock.advance(Duration.ofSeconds(8));
    f.jwt.tick(clock.instant()); // T0+12s: the scheduled rotation publishes v2, signing from T0+16s
    clock.advance(Duration.ofSeconds(4));
    assertTrue(kids(f.jwt.jwks("short").json()).contains(old), "verify-only until max(signed_until, 16s) + skew");
    clock.advance(Duration.ofSeconds(2));
    assertEquals(List.of(kid(f.jwt.sign("short", "short", ALICE, List.of(Map.of()), Optional.empty()).get(0).token()
        .orElseThrow())), kids(f.jwt.jwks("short").json()), "retired at T0+18s: the old kid left the JWKS");
    KeywardenException tooShort = refusal(() -> JwtKeySettings.of("x", JwtAlgorithm.ES256, issuer("x"))
        .withPublishAhead(Duration.ZERO).withRotationPeriod(Optional.of(Duration.ofSeconds(9))));
    assertTrue(tooShort.getMessage().contains("at least 10s"), tooShort.getMessage());
  }

  @Test
  void aKeyRotatedByAnotherServerSignsHereWithTheNewVersion() throws Exception {
    Map<String, Object> ok = Map.of("aud", "orders-api");
    String before = SignedJWT.parse(sign(List.of(ok), Optional.empty()).get(0).token().orElseThrow())
        .getHeader().getKeyID(); // the key record is now cached here
    // a second engine over the same store stands for another server sharing it
    JwtEngine elsewhere = new JwtEngine(f.core, clock, new java.security.SecureRandom());
    elsewhere.rotate("idp", true);
    String after = SignedJWT.parse(sign(List.of(ok), Optional.empty()).get(0).token().orElseThrow())
        .getHeader().getKeyID();
    assertNotEquals(before, after, "still signing with the version another server rotated away from");
  }
}
