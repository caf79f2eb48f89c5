package dev.keywarden.storage;

import dev.keywarden.failure.Inputs;
import java.util.Objects;

/** Rules for storage keys shared by the SQL implementations. */
final class Keys {
  private Keys() {}

  /** Keys must survive a round trip through UTF-8 and C strings: well-formed UTF-16, no NUL. */
  static void check(String key) {
    Objects.requireNonNull(key, "key");
    if (key.indexOf(0) >= 0) {
      throw new IllegalArgumentException("storage keys must not contain NUL characters");
    }
    if (!Inputs.wellFormedUnicode(key)) {
      throw new IllegalArgumentException("storage keys must be well-formed Unicode");
    }
  }

  /**
   * The least string above every string that starts with {@code prefix}, in code point (= UTF-8 byte) order, or null
   * if there is none (empty prefix, or only U+10FFFF).
   */
  static String upperBound(String prefix) {
    int[] codePoints = prefix.codePoints().toArray();
    int n = codePoints.length;
    while (n > 0 && codePoints[n - 1] == Character.MAX_CODE_POINT) {
      n--;
    }
    if (n == 0) {
      return null;
    }
    int next = codePoints[n - 1] + 1;
    if (next == Character.MIN_SURROGATE) {
      next = Character.MAX_SURROGATE + 1;
    }
    codePoints[n - 1] = next;
    return new String(codePoints, 0, n);
  }
}
