package dev.keywarden.pki;

import static org.quicktheories.generators.SourceDSL.lists;

import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** The value generators this module's property tests need and QuickTheories does not ship. */
final class Generators {
  private Generators() {}

  /** Byte arrays of exactly {@code size} bytes of any value. */
  static Gen<byte[]> bytes(int size) {
    return Generate.byteArrays(Generate.constant(size), Generate.bytes(Byte.MIN_VALUE, Byte.MAX_VALUE, (byte) 0));
  }

  /** Strings of {@code minLength..maxLength} characters, each one of {@code alphabet}'s. */
  static Gen<String> stringsOver(String alphabet, int minLength, int maxLength) {
    List<Character> letters = alphabet.chars().mapToObj(c -> (char) c).toList();
    return strings(Generate.pick(letters), minLength, maxLength);
  }

  /**
   * Strings of {@code minLength..maxLength} UTF-16 chars drawn from the whole Basic Multilingual Plane except
   * surrogates, noncharacters and private-use characters.
   */
  static Gen<String> unicodeStrings(int minLength, int maxLength) {
    // the allowed chars, packed: U+0000..U+D7FF, U+F900..U+FDCF, U+FDF0..U+FFFD
    Gen<Character> chars = Generate.range(0, 0xD800 + (0xFDD0 - 0xF900) + (0xFFFE - 0xFDF0) - 1).map(i -> {
      if (i < 0xD800) {
        return (char) (int) i;
      }
      int rest = i - 0xD800;
      return rest < 0xFDD0 - 0xF900 ? (char) (0xF900 + rest) : (char) (0xFDF0 + rest - (0xFDD0 - 0xF900));
    });
    return strings(chars, minLength, maxLength);
  }

  private static Gen<String> strings(Gen<Character> chars, int minLength, int maxLength) {
    return lists().of(chars).ofSizeBetween(minLength, maxLength).map(list -> {
      StringBuilder s = new StringBuilder(list.size());
      list.forEach(s::append);
      return s.toString();
    });
  }
}
