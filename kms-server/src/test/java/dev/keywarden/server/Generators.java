package dev.keywarden.server;

import static org.quicktheories.generators.SourceDSL.lists;

import java.util.HexFormat;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** The value generators this module's property tests need and QuickTheories does not ship. */
public final class Generators {
  private Generators() {}

  /** Byte arrays of {@code minSize..maxSize} bytes of any value, shown in hex when a property fails. */
  public static Gen<byte[]> bytes(int minSize, int maxSize) {
    return Generate.byteArrays(Generate.range(minSize, maxSize),
            Generate.bytes(Byte.MIN_VALUE, Byte.MAX_VALUE, (byte) 0))
        .describedAs(b -> "0x" + HexFormat.of().formatHex(b));
  }

  /** Strings of {@code minLength..maxLength} characters, each one of {@code alphabet}'s. */
  public static Gen<String> stringsOver(String alphabet, int minLength, int maxLength) {
    List<Character> letters = alphabet.chars().mapToObj(c -> (char) c).toList();
    return lists().of(Generate.pick(letters)).ofSizeBetween(minLength, maxLength).map(chars -> {
      StringBuilder s = new StringBuilder(chars.size());
      chars.forEach(s::append);
      return s.toString();
    });
  }
}
