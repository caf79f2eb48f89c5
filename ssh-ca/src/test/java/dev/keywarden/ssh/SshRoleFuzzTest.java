package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;
import java.nio.charset.StandardCharsets;

/**
 * SSH roles are caller JSON. Whatever the text, SshRole.fromJson gives a role or refuses with INVALID_ARGUMENT; a
 * role read writes out (toJson) to JSON that reads back to an equal role.
 */
class SshRoleFuzzTest {

  @FuzzTest
  void roleJsonIsReadOrRefusedAndRoundTrips(byte[] json) {
    SshRole role;
    try {
      role = SshRole.fromJson(new String(json, StandardCharsets.UTF_8));
    } catch (KeywardenException refused) {
      assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, refused.kind());
      return;
    }
    assertEquals(role, SshRole.fromJson(role.toJson()));
  }
}
