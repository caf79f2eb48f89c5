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
