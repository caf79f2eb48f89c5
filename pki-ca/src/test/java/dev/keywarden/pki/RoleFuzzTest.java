package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;
import java.nio.charset.StandardCharsets;

/**
 * Roles are caller JSON. Whatever the text, Role.fromJson gives a role or refuses with KeywardenException; a role
 * read writes out (toJson) to JSON that reads back to an equal role.
 */
class RoleFuzzTest {

  @FuzzTest
  void roleJsonIsReadOrRefusedAndRoundTrips(byte[] json) {
    Role role;
    try {
      role = Role.fromJson(new String(json, StandardCharsets.UTF_8));
    } catch (KeywardenException refused) {
      return;
    }
    assertEquals(role, Role.fromJson(role.toJson()));
  }
}
