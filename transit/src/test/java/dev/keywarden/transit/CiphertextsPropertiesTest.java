package dev.keywarden.transit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.util.Base64;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

class CiphertextsPropertiesTest {

  @Property
  void formatThenParseGivesBackVersionAndBytes(@ForAll @IntRange(min = 1) int version,
      @ForAll @Size(max = 4096) byte[] bytes) {
    String text = Ciphertexts.format(version, bytes);
    assertEquals("kw:v" + version + ":" + Base64.getEncoder().encodeToString(bytes), text);
    Ciphertexts.Parsed parsed = Ciphertexts.parse(text);
    assertEquals(version, parsed.version());
    assertArrayEquals(bytes, parsed.bytes());
  }

  /** The parser accepts exactly what the JDK's strict decoder accepts after the header, and decodes it the same. */
  @Property(tries = 2000)
  void parseAgreesWithTheJdkDecoderOnAnyTail(@ForAll("tails") String tail) {
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
  }

  /** The bytes the server takes off the wire parse exactly as the String would, and refuse exactly the same. */
  @Property(tries = 2000)
  void asciiAndStringParsingAgree(@ForAll("headers") String header, @ForAll("tails") String tail) {
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
  }

  @Property
  void formatAsciiIsTheStringsBytes(@ForAll @IntRange(min = 1) int version, @ForAll @Size(max = 256) byte[] bytes) {
    assertArrayEquals(Ciphertexts.format(version, bytes).getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        Ciphertexts.formatAscii(version, bytes));
  }

  @Provide
  Arbitrary<String> headers() {
    return Arbitraries.oneOf(Arbitraries.of("kw:v1:", "kw:v12:", "kw:v0:", "kw:v-1:", "kw:v+1:", "kw:v:", "kw:v1",
        "kw:vx:", "kw:v99999999999:", "kw:v2147483647:", "kw:v2147483648:", "kw:v01:", "kx:v1:", "", "kw",
        "kw:v\u00e9:", "kw:v1\u20ac:"), Arbitraries.strings().ofMaxLength(8).map(x -> "kw:v" + x + ":"));
  }

  @Provide
  Arbitrary<String> tails() {
    Arbitrary<String> base64 = Arbitraries.bytes().array(byte[].class).ofMaxSize(64)
        .map(b -> Base64.getEncoder().encodeToString(b));
    Arbitrary<String> mangled = base64.flatMap(s -> Arbitraries.integers().between(0, s.length())
        .flatMap(i -> Arbitraries.of('=', '-', '_', 'é', '€', '\u0100', ' ', ':', 'A', '\n')
            .map(c -> s.substring(0, i) + c + s.substring(i))));
    return Arbitraries.oneOf(base64, mangled, Arbitraries.strings().ofMaxLength(24));
  }
}
