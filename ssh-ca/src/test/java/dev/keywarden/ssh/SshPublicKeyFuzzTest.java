package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;
import java.nio.charset.StandardCharsets;

/**
 * The caller's public key line is untrusted. Whatever the text, SshPublicKeys.parse gives a key or refuses with
 * INVALID_ARGUMENT (never another exception); a key it accepts re-encodes to the same type and base64. Seeds: lines
 * ssh-keygen made (ed25519, ecdsa 256/384/521, rsa), security-key lines, and near misses.
 */
class SshPublicKeyFuzzTest {

  @FuzzTest
  void anyKeyLineIsParsedOrRefusedAsInvalid(byte[] input) {
    String line = new String(input, StandardCharsets.UTF_8);
    SshPublicKeys.Parsed key;
    try {
      key = SshPublicKeys.parse("public_key", line);
    } catch (KeywardenException refused) {
      assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, refused.kind());
      return;
    }
    String[] parts = line.strip().split("[ \t]+", 3);
    assertEquals(parts[0] + " " + parts[1], key.line());
    assertEquals(key.line(), SshPublicKeys.parse("public_key", key.line()).line());
  }
}
