package dev.keywarden.server.auth;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import java.util.List;
import net.jqwik.api.*;
import net.jqwik.api.constraints.AlphaChars;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

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

  @Property
  void aPatternWithoutStarsMatchesOnlyItself(@ForAll("resources") String a, @ForAll("resources") String b) {
    PolicyRule rule = PolicyRule.of(a, List.of("read"));
    assertTrue(rule.matches(a));
    assertEquals(a.equals(b), rule.matches(b));
  }

  @Property
  void aTrailingStarIsAPrefixMatch(@ForAll("resources") String prefix, @ForAll("resources") String rest,
      @ForAll("resources") String other) {
    PolicyRule rule = PolicyRule.of(prefix + "*", List.of("read"));
    assertTrue(rule.matches(prefix));
    assertTrue(rule.matches(prefix + rest));
    assertEquals(other.startsWith(prefix), rule.matches(other));
  }

  @Property
  void aStarInTheMiddleMatchesAnyRunIncludingSlashes(@ForAll("resources") String head,
      @ForAll("resources") String middle, @ForAll("resources") String tail) {
    PolicyRule rule = PolicyRule.of(head + "*" + tail, List.of("read"));
    assertTrue(rule.matches(head + middle + tail));
    assertTrue(rule.matches(head + "a/b/c" + tail));
  }

  @Property
  void regexMetacharactersMatchThemselves(@ForAll @AlphaChars @StringLength(min = 1, max = 8) String word) {
    PolicyRule rule = PolicyRule.of("pki/roles/" + word + ".+", List.of("read"));
    assertTrue(rule.matches("pki/roles/" + word + ".+"));
    assertFalse(rule.matches("pki/roles/" + word + "xx"));
  }

  @Provide
  Arbitrary<String> resources() {
    return Arbitraries.strings().withChars("abc/-_.+:").ofMinLength(0).ofMaxLength(12);
  }
}
