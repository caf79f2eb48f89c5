package dev.keywarden.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;
import java.nio.charset.StandardCharsets;

/**
 * Policy documents are caller JSON. Whatever the text, Policy.parse gives a policy or refuses with
 * KeywardenException (INVALID_ARGUMENT), never INTERNAL; a policy's normalized JSON parses back to itself.
 */
class PolicyFuzzTest {

  @FuzzTest
  void policyJsonIsReadOrRefusedAndNormalizes(byte[] json) {
    Policy policy;
    try {
      policy = Policy.parse("fuzz", new String(json, StandardCharsets.UTF_8), PolicyTest.CAPS);
    } catch (KeywardenException refused) {
      assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, refused.kind());
      return;
    }
    String normal = policy.toJson();
    assertEquals(normal, Policy.parse("fuzz", normal, PolicyTest.CAPS).toJson());
  }
}
