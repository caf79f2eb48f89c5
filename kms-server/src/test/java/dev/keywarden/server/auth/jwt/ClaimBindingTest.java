package dev.keywarden.server.auth.jwt;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Claim bindings: flat names and JSON Pointers, '*' globs, lists, numbers and booleans. */
class ClaimBindingTest {
  static final Map<String, Object> CLAIMS = Map.of(
      "kubernetes.io/serviceaccount/namespace", "payments",
      "kubernetes.io", Map.of("namespace", "payments", "serviceaccount", Map.of("name", "api-7")),
      "groups", List.of("dev", "ops/oncall"),
      "a/b", Map.of("c~d", "x"),
      "run", 42L,
      "admin", false);

  static boolean matches(String path, String... values) {
    return new ClaimBinding(path, List.of(values)).matches(CLAIMS);
  }

  @Test
  void aPathWithoutALeadingSlashIsATopLevelClaimNameAsItIs() {
    assertTrue(matches("kubernetes.io/serviceaccount/namespace", "payments"));
    assertFalse(matches("kubernetes.io/namespace", "payments"));
  }

  @Test
  void aLeadingSlashMakesAJsonPointerIntoNestedClaims() {
    assertTrue(matches("/kubernetes.io/namespace", "payments"));
    assertTrue(matches("/kubernetes.io/serviceaccount/name", "api-*"));
    assertTrue(matches("/a~1b/c~0d", "x"));
    assertFalse(matches("/kubernetes.io/serviceaccount", "*"), "an object never matches");
    assertFalse(matches("/missing/claim", "*"), "an absent claim never matches");
  }

  @Test
  void globsMatchTheWholeValueWithStarAsAnyRun() {
    assertTrue(matches("/kubernetes.io/serviceaccount/name", "api-7", "other"));
    assertTrue(matches("/kubernetes.io/serviceaccount/name", "*7"));
    assertFalse(matches("/kubernetes.io/serviceaccount/name", "api"));
    assertFalse(matches("/kubernetes.io/serviceaccount/name", "API-*"), "case-sensitive");
    assertFalse(matches("/kubernetes.io/serviceaccount/name", "api-?"), "'?' is literal");
  }

  @Test
  void listsMatchWhenAnyElementDoesAndScalarsAsTheirJsonText() {
    assertTrue(matches("groups", "ops/*"));
    assertFalse(matches("groups", "admin"));
    assertTrue(matches("run", "42"));
    assertTrue(matches("admin", "false"));
    assertFalse(matches("admin", "true"));
  }

  @Test
  void malformedBindingsAreRefusedAtRoleWrite() {
    assertThrows(KeywardenException.class, () -> new ClaimBinding("", List.of("x")));
    assertThrows(KeywardenException.class, () -> new ClaimBinding("/", List.of("x")));
    assertThrows(KeywardenException.class, () -> new ClaimBinding("groups", List.of()));
    assertTrue(assertThrows(KeywardenException.class, () -> new ClaimBinding("/a~2b", List.of("x"))).getMessage()
        .contains("JSON Pointer"));
  }
}
