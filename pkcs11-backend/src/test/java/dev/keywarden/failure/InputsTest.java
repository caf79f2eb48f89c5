package dev.keywarden.failure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Names as every engine and the gate check them. */
class InputsTest {
  @Test
  void aNameIsAcceptedExactlyWhenItMatchesTheNamePatternAndIsNotADotOrTwo() {
    Pattern name = Pattern.compile("[A-Za-z0-9._-]{1,128}");
    List<String> samples = new ArrayList<>(List.of("orders", "a", "A-b_c.9", ".", "..", "...", ".hidden", "", " ",
        "a b", "a/b", "x".repeat(128), "x".repeat(129), "caf\u00e9", "\u0661\u0662", "a\nb", "key:1", "a*"));
    for (char c = 0; c < 256; c++) {
      samples.add("k" + c);
    }
    for (String s : samples) {
      boolean expected = name.matcher(s).matches() && !s.equals(".") && !s.equals("..");
      assertEquals(expected, Inputs.isName(s), Inputs.quoted(s));
      if (expected) {
        assertEquals(s, Inputs.name("a test name", s));
      } else {
        assertThrows(KeywardenException.class, () -> Inputs.name("a test name", s));
      }
    }
    assertFalse(Inputs.isName(null));
  }
}
