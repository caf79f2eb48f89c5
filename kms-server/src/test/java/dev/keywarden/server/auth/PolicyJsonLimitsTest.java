package dev.keywarden.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Whatever a caller sends as a policy, a parse failure is INVALID_ARGUMENT with a short message, never INTERNAL. */
class PolicyJsonLimitsTest {
  private static final String RULE = "{\"resource\":\"transit/keys/a\",\"capabilities\":[\"read\"]}";

  static Stream<Arguments> badPolicies() {
    return Stream.of(
        // Was a NullPointerException (INTERNAL): Jackson's number-length error has no location.
        Arguments.of("a number of 1,001 digits", "{\"rules\":[" + RULE + "],\"x\":" + "1".repeat(1001) + "}",
            "has a number longer than 64 characters"),
        Arguments.of("a number of 1,001 digits where a list goes", "{\"rules\":" + "1".repeat(1001) + "}",
            "has a number longer than 64 characters"),
        Arguments.of("nesting 1,000 deep", "{\"rules\":[" + RULE + "],\"x\":" + "[".repeat(1000) + "]".repeat(1000) + "}",
            "unknown field 'x'"),
        Arguments.of("nesting 1,000 deep inside a rule", "{\"rules\":" + "[".repeat(1000) + "]".repeat(1000) + "}",
            "rules[0] has the wrong type or value"),
        Arguments.of("a document over 64 KiB", "{\"rules\":[" + (RULE + ",").repeat(1300) + RULE + "]}",
            "the limit is 65536"),
        Arguments.of("a trailing second document", "{\"rules\":[" + RULE + "]} {}", "has more after its JSON value"),
        Arguments.of("a trailing bracket", "{\"rules\":[" + RULE + "]}]", "not valid JSON (line 1, column 66)"),
        Arguments.of("a string where the rules go", "{\"rules\":\"all\"}", "rules has the wrong type or value"),
        Arguments.of("a number where a capability goes",
            "{\"rules\":[{\"resource\":\"a\",\"capabilities\":[{}]}]}", "rules[0].capabilities[0] has the wrong type"),
        Arguments.of("a duplicate field", "{\"rules\":[" + RULE + "],\"rules\":[]}", "not valid JSON"),
        Arguments.of("null", "null", "null"),
        Arguments.of("empty", " ", "empty"),
        Arguments.of("a truncated document", "{\"rules\": [", "not valid JSON"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badPolicies")
  void badPolicyJsonIsInvalidArgumentWithAMessage(String what, String json, String expected) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> Policy.parse("p", json, PolicyTest.CAPS));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertTrue(e.getMessage().length() < 400, "message too long: " + e.getMessage().length());
    assertTrue(!e.getMessage().contains("com.fasterxml") && !e.getMessage().contains("dev.keywarden"), e.getMessage());
  }
}
