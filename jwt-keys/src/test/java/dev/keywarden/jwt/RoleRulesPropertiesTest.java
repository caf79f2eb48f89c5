package dev.keywarden.jwt;

import static dev.keywarden.testing.Generators.stringsOver;
import static dev.keywarden.testing.Generators.unicodeStrings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import com.nimbusds.jwt.JWTClaimsSet;
import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * The role rules over generated requests, each against an independent oracle: a glob turned into a regular expression,
 * and the list of claims only the server sets. Refusals are INVALID_ARGUMENT naming the claim and the rule.
 */
class RoleRulesPropertiesTest {
  private static final ClaimRules.ServerClaims SERVER =
      new ClaimRules.ServerClaims("https://kms.example/v1/jwt/k", 1_800_000_000L, 1_800_000_900L, "jti-1");
  private static final JwtIdentity ALICE = new JwtIdentity("alice", Map.of("team", "payments"));

  /** Small alphabets, so that globs and values often meet. */
  private static Gen<String> globs() {
    return stringsOver("ab*", 1, 6);
  }

  private static Gen<String> values() {
    return stringsOver("ab", 0, 7).map(s -> s.isEmpty() ? "a" : s);
  }

  private static boolean oracle(String glob, String value) {
    String regex = Arrays.stream(glob.split("\\*", -1)).map(Pattern::quote).collect(Collectors.joining(".*"));
    return Pattern.compile(regex, Pattern.DOTALL).matcher(value).matches();
  }

  private static Optional<KeywardenException> outcome(JwtRole role, JwtIdentity caller, Map<String, Object> asked) {
    try {
      ClaimRules.claims(role, caller, asked, SERVER);
      return Optional.empty();
    } catch (KeywardenException e) {
      assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
      return Optional.of(e);
    }
  }

  @Test
  void anAudienceIsAcceptedIffOneOfTheRolesGlobsMatchesAllOfIt() {
    qt().withExamples(2000).forAll(lists().of(globs()).ofSizeBetween(1, 3), lists().of(values())
        .ofSizeBetween(1, 3)).checkAssert((allowed, auds) -> {
          JwtRole role = JwtRole.builder("r", "k").allowedAudiences(allowed.toArray(String[]::new)).build();
          boolean expected = auds.stream().allMatch(a -> allowed.stream().anyMatch(g -> oracle(g, a)));
          Optional<KeywardenException> refused = outcome(role, ALICE, Map.of("aud", auds.size() == 1 ? auds.get(0)
              : auds));
          assertEquals(expected, refused.isEmpty(), () -> refused.map(Throwable::getMessage).orElse("accepted"));
          refused.ifPresent(e -> assertTrue(e.getMessage().contains("claim 'aud'")
              && e.getMessage().contains("role 'r'") && e.getMessage().contains("allowed_audiences"), e.getMessage()));
        });
  }

  @Test
  void aCustomClaimIsAcceptedIffTheRoleNamesItAndAGlobMatchesItsValue() {
    Gen<String> names = Generate.pick(List.of("team", "env", "tier", "role"));
    qt().withExamples(2000).forAll(names, values(), globs(), booleans().all()).checkAssert((name, value, glob,
        asList) -> {
          JwtRole role = JwtRole.builder("r", "k").allowedAudiences("api").allowClaim("team", glob)
              .allowClaim("env", "a", "b*").build();
          List<String> patterns = role.allowedClaims().get(name);
          boolean expected = patterns != null && patterns.stream().anyMatch(g -> oracle(g, value));
          Optional<KeywardenException> refused = outcome(role, ALICE, Map.of(name, asList ? List.of(value, value)
              : value));
          assertEquals(expected, refused.isEmpty(), () -> refused.map(Throwable::getMessage).orElse("accepted"));
          refused.ifPresent(e -> assertTrue(e.getMessage().contains("claim '" + name + "'")
              && e.getMessage().contains("role 'r'") && e.getMessage().contains("allowed_claims"), e.getMessage()));
        });
  }

  @Test
  void claimsTheServerSetsAreRefusedWhateverTheirValueAndNbfOnlyWhenTheRoleAllowsIt() {
    Gen<String> reserved = Generate.pick(List.of("iss", "iat", "exp", "jti", "nbf"));
    Gen<Object> anything = Generate.oneOf(unicodeStrings(0, 12).map(s -> (Object) s),
        integers().between(1_799_999_000, 1_800_001_000).map(i -> (Object) (long) i),
        booleans().all().map(b -> (Object) b));
    qt().withExamples(1000).forAll(reserved, anything, booleans().all()).checkAssert((claim, value, allowNbf) -> {
      JwtRole role = JwtRole.builder("r", "k").allowedAudiences("api").allowFutureNbf(allowNbf).build();
      Optional<KeywardenException> refused = outcome(role, ALICE, Map.of(claim, value));
      boolean nbfInWindow = value instanceof Long n && n >= SERVER.issuedAt() && n < SERVER.expiresAt();
      boolean expected = claim.equals("nbf") && allowNbf && nbfInWindow;
      assertEquals(expected, refused.isEmpty(), () -> claim + "=" + value + ": "
          + refused.map(Throwable::getMessage).orElse("accepted"));
      refused.ifPresent(e -> assertTrue(e.getMessage().contains("claim '" + claim + "'"), e.getMessage()));
    });
  }

  @Test
  void theSubjectIsTheRenderedTemplateAndACallerSubOtherThanThatIsRefused() {
    qt().withExamples(1000).forAll(unicodeStrings(1, 16), unicodeStrings(1, 16), booleans().all())
        .checkAssert((identity, other, give) -> {
          JwtRole role = JwtRole.builder("r", "k").allowedAudiences("api").subjectTemplate("svc:{{identity}}")
              .build();
          JwtIdentity caller = JwtIdentity.of(identity);
          Map<String, Object> asked = new HashMap<>();
          if (give) {
            asked.put("sub", other);
          }
          Optional<KeywardenException> refused = outcome(role, caller, asked);
          boolean expected = !give || other.equals("svc:" + identity);
          assertEquals(expected, refused.isEmpty());
          if (expected) {
            assertEquals("svc:" + identity, claims(role, caller, asked).getSubject());
          } else {
            assertTrue(refused.get().getMessage().contains("subject_template"), refused.get().getMessage());
          }
        });
  }

  @Test
  void anIdentityHoldingAStarNeverWidensASubjectGlob() {
    qt().withExamples(1000).forAll(stringsOver("ab*/", 1, 8), stringsOver("ab/", 0, 6)).checkAssert((identity,
        rest) -> {
          JwtRole role = JwtRole.builder("r", "k").allowedAudiences("api").allowedSubjects("{{identity}}/*").build();
          String sub = identity + "/" + rest;
          Optional<KeywardenException> refused = outcome(role, JwtIdentity.of(identity), Map.of("sub", sub));
          assertEquals(identity.contains("*"), refused.isPresent(), () -> sub + ": "
              + refused.map(Throwable::getMessage).orElse("accepted"));
          // Another caller's subtree is never reachable.
          Optional<KeywardenException> foreign = outcome(role, JwtIdentity.of(identity),
              Map.of("sub", "z" + identity + "/" + rest));
          assertTrue(foreign.isPresent());
        });
  }

  @Test
  void metadataPlaceholdersRenderTheCallersValueOrRefuseWhenItIsMissing() {
    JwtRole role = JwtRole.builder("r", "k").allowedAudiences("{{meta.team}}.example").allowClaim("team",
        "{{meta.team}}").build();
    JWTClaimsSet set = claims(role, ALICE, Map.of("team", "payments"));
    assertEquals(List.of("payments.example"), set.getAudience());
    assertTrue(outcome(role, ALICE, Map.of("team", "billing")).isPresent());
    KeywardenException missing = outcome(role, JwtIdentity.of("bob"), Map.of()).orElseThrow();
    assertTrue(missing.getMessage().contains("{{meta.team}}"), missing.getMessage());
  }

  private static JWTClaimsSet claims(JwtRole role, JwtIdentity caller, Map<String, Object> asked) {
    return ClaimRules.claims(role, caller, asked, SERVER);
  }
}
