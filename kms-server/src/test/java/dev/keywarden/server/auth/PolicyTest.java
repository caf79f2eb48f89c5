package dev.keywarden.server.auth;

import static dev.keywarden.testing.Generators.stringsOver;
import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;

import dev.keywarden.failure.KeywardenException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

/** Policy documents: strict parsing with field-naming errors, and glob matching. */
class PolicyTest {
  static final Capabilities CAPS = new Capabilities(List.of("encrypt", "decrypt", "rotate"));

  @Test
  void parsesNormalizesAndRoundTrips() {
    Policy p = Policy.parse("app", "{\"rules\":[{\"resource\":\"transit/keys/orders-*\","
        + "\"capabilities\":[\"encrypt\",\"decrypt\"]}]}", CAPS);
    assertEquals(Policy.Decision.ALLOW, p.decide("transit/keys/orders-eu", "encrypt"));
    assertEquals(Policy.Decision.NONE, p.decide("transit/keys/orders-eu", "rotate"));
    assertEquals(Policy.Decision.NONE, p.decide("transit/keys/billing", "encrypt"));
    Policy again = Policy.parse("app", p.toJson(), CAPS);
    assertEquals(p.toJson(), again.toJson());
  }

  @Test
  void malformedDocumentsNameWhatIsWrong() {
    assertMessage("not valid JSON", "{\"rules\": [");
    assertMessage("unknown field 'rule'", "{\"rule\": []}");
    assertMessage("non-empty \"rules\"", "{\"rules\": []}");
    assertMessage("rules[0].resource is missing", "{\"rules\":[{\"capabilities\":[\"read\"]}]}");
    assertMessage("rules[1].capabilities: unknown capability 'fly'",
        "{\"rules\":[{\"resource\":\"a\",\"capabilities\":[\"read\"]},{\"resource\":\"b\",\"capabilities\":[\"fly\"]}]}");
    assertMessage("rules[0].capabilities is missing or empty", "{\"rules\":[{\"resource\":\"a\",\"capabilities\":[]}]}");
    assertMessage("rules[0].resource 'a b'", "{\"rules\":[{\"resource\":\"a b\",\"capabilities\":[\"read\"]}]}");
    KeywardenException e = assertThrows(KeywardenException.class, () -> Policy.parse("bad name", "{}", CAPS));
    assertTrue(e.getMessage().contains("policy name"), e.getMessage());
  }

  private static void assertMessage(String expected, String json) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> Policy.parse("p", json, CAPS));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void denyWinsOverAnyGrantInThePolicy() {
    Policy p = Policy.parse("p", "{\"rules\":[{\"resource\":\"transit/keys/*\",\"capabilities\":[\"encrypt\"]},"
        + "{\"resource\":\"transit/keys/secret\",\"capabilities\":[\"deny\"]}]}", CAPS);
    assertEquals(Policy.Decision.ALLOW, p.decide("transit/keys/public", "encrypt"));
    assertEquals(Policy.Decision.DENY, p.decide("transit/keys/secret", "encrypt"));
  }

  @Test
  void aPatternWithoutStarsMatchesOnlyItself() {
    qt().withExamples(1000).forAll(resources(), resources()).checkAssert((a, b) -> {
      PolicyRule rule = PolicyRule.of(a, List.of("read"));
      assertTrue(rule.matches(a));
      assertEquals(a.equals(b), rule.matches(b));
    });
  }

  @Test
  void aTrailingStarIsAPrefixMatch() {
    qt().withExamples(1000).forAll(resources(), resources(), resources()).checkAssert((prefix, rest, other) -> {
      PolicyRule rule = PolicyRule.of(prefix + "*", List.of("read"));
      assertTrue(rule.matches(prefix));
      assertTrue(rule.matches(prefix + rest));
      assertEquals(other.startsWith(prefix), rule.matches(other));
    });
  }

  @Test
  void aStarInTheMiddleMatchesAnyRunIncludingSlashes() {
    qt().withExamples(1000).forAll(resources(), resources(), resources()).checkAssert((head, middle, tail) -> {
      PolicyRule rule = PolicyRule.of(head + "*" + tail, List.of("read"));
      assertTrue(rule.matches(head + middle + tail));
      assertTrue(rule.matches(head + "a/b/c" + tail));
    });
  }

  @Test
  void regexMetacharactersMatchThemselves() {
    qt().withExamples(1000)
        .forAll(stringsOver("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 8))
        .checkAssert(word -> {
          PolicyRule rule = PolicyRule.of("pki/roles/" + word + ".+", List.of("read"));
          assertTrue(rule.matches("pki/roles/" + word + ".+"));
          assertFalse(rule.matches("pki/roles/" + word + "xx"));
        });
  }

  private static Gen<String> resources() {
    return stringsOver("abc/-_.+:", 0, 12);
  }
}
