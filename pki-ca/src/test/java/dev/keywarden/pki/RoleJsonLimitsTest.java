package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Whatever a caller sends as a role, a parse failure is INVALID_ARGUMENT with a short message, never a crash. */
class RoleJsonLimitsTest {
  private static final String ROLE = "{\"name\":\"web\",\"server_flag\":true";

  static Stream<Arguments> badRoles() {
    return Stream.of(
        Arguments.of("a number of 1,001 digits", ROLE + ",\"min_rsa_bits\":" + "9".repeat(1001) + "}",
            "has a number longer than 64 characters"),
        Arguments.of("nesting 1,000 deep", ROLE + ",\"organization\":" + "[".repeat(1000) + "]".repeat(1000) + "}",
            "organization[0] has the wrong type or value"),
        Arguments.of("nesting 1,000 deep where any value may go", "{\"name\":" + "[".repeat(1000) + "]".repeat(1000) + "}",
            "name has the wrong type or value"),
        Arguments.of("a document over 64 KiB", ROLE + ",\"organization\":[\"" + "a".repeat(70_000) + "\"]}",
            "is 70"),
        Arguments.of("trailing garbage", ROLE + "} {\"x\":1}", "has more after its JSON value (line 1, column 35)"),
        Arguments.of("a list where a boolean goes", "{\"name\":\"web\",\"server_flag\":[1]}",
            "server_flag has the wrong type or value (line 1, column 29)"),
        Arguments.of("an object where a list goes", ROLE + ",\"allowed_domains\":{\"a\":1}}",
            "allowed_domains has the wrong type or value"),
        Arguments.of("a duplicate field", ROLE + ",\"server_flag\":false}", "not valid JSON"),
        Arguments.of("an array at the top", "[1,2]", "wrong type or form (line 1, column 1)"),
        Arguments.of("null", "null", "null"),
        Arguments.of("empty", "", "empty"),
        Arguments.of("a control character", "{\"name\":\"\u0001\"}", "not valid JSON"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRoles")
  void badRoleJsonIsInvalidArgumentWithAMessage(String what, String json, String expected) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> Role.fromJson(json));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertTrue(e.getMessage().length() < 400, "message too long: " + e.getMessage().length());
    assertTrue(!e.getMessage().contains("com.fasterxml") && !e.getMessage().contains("StreamReadConstraints"),
        e.getMessage());
  }
}
