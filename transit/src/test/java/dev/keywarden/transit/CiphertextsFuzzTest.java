package dev.keywarden.transit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Ciphertext text is caller input. Whatever the bytes, parsing either gives a version and bytes that format back to
 * an equal parse, or refuses with KeywardenException; and format then parse gives back any version and bytes.
 * Seeds: {@code src/test/resources/dev/keywarden/transit/CiphertextsFuzzTestInputs/<method>/}.
 */
class CiphertextsFuzzTest {

  @FuzzTest
  void parseRefusesOrRoundTrips(byte[] text) {
    Ciphertexts.Parsed parsed;
    try {
      parsed = Ciphertexts.parseAscii(text);
    } catch (KeywardenException refused) {
      return;
    }
    // The String form must agree with the bytes form on every input (its characters are the same bytes).
    Ciphertexts.Parsed viaString = Ciphertexts.parse(new String(text, StandardCharsets.ISO_8859_1));
    assertEquals(parsed.version(), viaString.version());
    assertArrayEquals(parsed.bytes(), viaString.bytes());
    Ciphertexts.Parsed again = Ciphertexts.parseAscii(Ciphertexts.formatAscii(parsed.version(), parsed.bytes()));
    assertEquals(parsed.version(), again.version());
    assertArrayEquals(parsed.bytes(), again.bytes());
  }

  @FuzzTest
  void formatThenParseGivesBackVersionAndBytes(byte[] input) {
    if (input.length < 4) {
      return;
    }
    int version = Math.max(1, (input[0] & 0x7f) << 24 | (input[1] & 0xff) << 16 | (input[2] & 0xff) << 8
        | (input[3] & 0xff));
    byte[] bytes = Arrays.copyOfRange(input, 4, input.length);
    Ciphertexts.Parsed parsed = Ciphertexts.parse(Ciphertexts.format(version, bytes));
    assertEquals(version, parsed.version());
    assertArrayEquals(bytes, parsed.bytes());
    assertArrayEquals(Ciphertexts.formatAscii(version, bytes),
        Ciphertexts.format(version, bytes).getBytes(StandardCharsets.US_ASCII));
  }
}
