package dev.keywarden.transit;

import static dev.keywarden.testing.Generators.bytes;
import static dev.keywarden.testing.Generators.unicodeStrings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.keywarden.failure.KeywardenException;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

class CiphertextsPropertiesTest {

  @Test
  void formatThenParseGivesBackVersionAndBytes() {
    qt().withExamples(1000).forAll(integers().between(1, Integer.MAX_VALUE), bytes(0, 4096))
        .checkAssert((version, bytes) -> {
          String text = Ciphertexts.format(version, bytes);
          assertEquals("kw:v" + version + ":" + Base64.getEncoder().encodeToString(bytes), text);
          Ciphertexts.Parsed parsed = Ciphertexts.parse(text);
          assertEquals(version, parsed.version());
          assertArrayEquals(bytes, parsed.bytes());
        });
  }

  /** The parser accepts exactly what the JDK's strict decoder accepts after the header, and decodes it the same. */
  @Test
  void parseAgreesWithTheJdkDecoderOnAnyTail() {
    qt().withExamples(2000).forAll(tails()).checkAssert(tail -> {
      String text = "kw:v3:" + tail;
      byte[] expected;
      try {
        expected = Base64.getDecoder().decode(tail);
      } catch (IllegalArgumentException e) {
        KeywardenException refused = assertThrows(KeywardenException.class, () -> Ciphertexts.parse(text));
        assertTrue(refused.getMessage().contains("not base64"), refused.getMessage());
        return;
      }
      assertArrayEquals(expected, Ciphertexts.parse(text).bytes());
    });
  }

  /** The bytes the server takes off the wire parse exactly as the String would, and refuse exactly the same. */
  @Test
  void asciiAndStringParsingAgree() {
    qt().withExamples(2000).forAll(headers(), tails()).checkAssert((header, tail) -> {
      String text = header + tail;
      byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      Ciphertexts.Parsed fromString;
      try {
        fromString = Ciphertexts.parse(text);
      } catch (KeywardenException e) {
        KeywardenException bytes = assertThrows(KeywardenException.class, () -> Ciphertexts.parseAscii(utf8));
        assertEquals(e.getMessage(), bytes.getMessage());
        return;
      }
      Ciphertexts.Parsed fromBytes = Ciphertexts.parseAscii(utf8);
      assertEquals(fromString.version(), fromBytes.version());
      assertArrayEquals(fromString.bytes(), fromBytes.bytes());
    });
  }

  @Test
  void formatAsciiIsTheStringsBytes() {
    qt().withExamples(1000).forAll(integers().between(1, Integer.MAX_VALUE), bytes(0, 256))
        .checkAssert((version, bytes) -> assertArrayEquals(
            Ciphertexts.format(version, bytes).getBytes(java.nio.charset.StandardCharsets.US_ASCII),
            Ciphertexts.formatAscii(version, bytes)));
  }

  private static Gen<String> headers() {
    return Generate.oneOf(Generate.pick(List.of("kw:v1:", "kw:v12:", "kw:v0:", "kw:v-1:", "kw:v+1:", "kw:v:", "kw:v1",
        "kw:vx:", "kw:v99999999999:", "kw:v2147483647:", "kw:v2147483648:", "kw:v01:", "kx:v1:", "", "kw",
        "kw:v\u00e9:", "kw:v1\u20ac:")), unicodeStrings(0, 8).map(x -> "kw:v" + x + ":"));
  }

  @SuppressWarnings("unchecked")
  private static Gen<String> tails() {
    Gen<String> base64 = bytes(0, 64).map(b -> Base64.getEncoder().encodeToString(b));
    Gen<Character> inserted = Generate.pick(List.of('=', '-', '_', 'é', '€', '\u0100', ' ', ':', 'A', '\n'));
    Gen<String> mangled = base64.flatMap(s -> Generate.range(0, s.length())
        .flatMap(i -> inserted.map(c -> s.substring(0, i) + c + s.substring(i))));
    return Generate.oneOf(base64, mangled, unicodeStrings(0, 24));
  }
}
