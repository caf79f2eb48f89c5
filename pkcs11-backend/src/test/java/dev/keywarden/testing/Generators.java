package dev.keywarden.testing;

import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** The value generators Keywarden's property tests need and QuickTheories does not ship (one copy for every module). */
public final class Generators {
  private Generators() {}

  /** Byte arrays of {@code minSize..maxSize} bytes of any value, shown in hex when a property fails. */
  public static Gen<byte[]> bytes(int minSize, int maxSize) {
    return Generate.byteArrays(Generate.range(minSize, maxSize),
            Generate.bytes(Byte.MIN_VALUE, Byte.MAX_VALUE, (byte) 0))
        .describedAs(b -> "0x" + HexFormat.of().formatHex(b));
  }

  /** Byte arrays of exactly {@code size} bytes. */
  public static Gen<byte[]> bytes(int size) {
    return bytes(size, size);
  }

  /** Strings of {@code minLength..maxLength} characters, each one of {@code alphabet}'s. */
  public static Gen<String> stringsOver(String alphabet, int minLength, int maxLength) {
    List<Character> letters = alphabet.chars().mapToObj(c -> (char) c).toList();
    return strings(Generate.pick(letters), minLength, maxLength);
  }

  /**
   * Strings of {@code minLength..maxLength} UTF-16 chars drawn from the whole Basic Multilingual Plane except
   * surrogates, noncharacters and private-use characters.
   */
  public static Gen<String> unicodeStrings(int minLength, int maxLength) {
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

  /** Random number generators from any seed; a failure shows the seed that rebuilds the same generator. */
  public static Gen<Random> randoms() {
    return longs().all().map(seed -> new Random(seed) {
      @Override
      public String toString() {
        return "new Random(" + seed + "L)";
      }
    });
  }

  /** One byte of a message to alter: the one at {@code where} modulo the length, XORed with {@code flip}. */
  public record ByteFlip(int where, int flip) {}

  /** Alterations at {@code 0..maxWhere} (taken modulo the length) with any non-zero XOR mask. */
  public static Gen<ByteFlip> byteFlips(int maxWhere) {
    return Generate.range(0, maxWhere).zip(Generate.range(1, 255), ByteFlip::new);
  }
}
