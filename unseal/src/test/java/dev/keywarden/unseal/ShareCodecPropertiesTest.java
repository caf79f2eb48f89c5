package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.util.Locale;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

class ShareCodecPropertiesTest {

  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  @Provide
  Arbitrary<UnsealShare> shares() {
    Arbitrary<Integer> threshold = Arbitraries.integers().between(1, 255);
    Arbitrary<Integer> index = Arbitraries.integers().between(1, 255);
    Arbitrary<byte[]> value = Arbitraries.bytes().array(byte[].class).ofSize(32);
    return Combinators.combine(Arbitraries.integers(), index, threshold, value).as(UnsealShare::new);
  }

  @Property
  void encodeThenDecodeIsIdentity(@ForAll("shares") UnsealShare share) {
    String text = ShareCodec.encode(share);
    assertTrue(text.startsWith("kw1-" + share.index() + "-"), text);
    assertTrue(text.matches("kw1-[0-9]+-[A-Z2-7]{69}"), text);
    assertEquals(share, ShareCodec.decode(text));
  }

  @Property
  void caseAndWhitespaceDoNotMatter(@ForAll("shares") UnsealShare share, @ForAll Random random) {
    String text = ShareCodec.encode(share);
    StringBuilder typed = new StringBuilder("  \t");
    for (char c : text.toCharArray()) {
      typed.append(random.nextBoolean() ? Character.toLowerCase(c) : Character.toUpperCase(c));
      if (c != '-' && random.nextInt(5) == 0) {
        typed.append(' ');
      }
    }
    typed.append(" \n");
    assertEquals(share, ShareCodec.decode(typed.toString()));
    assertEquals(share, ShareCodec.decode(text.toLowerCase(Locale.ROOT)));
  }

  @Property(tries = 2000)
  void anySingleCharacterChangeInTheCodeIsCaught(
      @ForAll("shares") UnsealShare share,
      @ForAll @IntRange(min = 0, max = 68) int position,
      @ForAll @IntRange(min = 1, max = 31) int shift) {
    String text = ShareCodec.encode(share);
    String prefix = text.substring(0, text.lastIndexOf('-') + 1);
    char[] code = text.substring(prefix.length()).toCharArray();
    code[position] = ALPHABET.charAt((ALPHABET.indexOf(code[position]) + shift) % 32);
    String typed = prefix + new String(code);
    assertRefusedWithoutEcho(typed, text);
  }

  @Property(tries = 1000)
  void insertingOrDeletingACharacterIsCaught(
      @ForAll("shares") UnsealShare share,
      @ForAll @IntRange(min = 0, max = 68) int position,
      @ForAll @IntRange(min = 0, max = 31) int letter,
      @ForAll boolean insert) {
    String text = ShareCodec.encode(share);
    int at = text.lastIndexOf('-') + 1 + position;
    String typed = insert
        ? text.substring(0, at) + ALPHABET.charAt(letter) + text.substring(at)
        : text.substring(0, at) + text.substring(at + 1);
    assertRefusedWithoutEcho(typed, text);
  }

  @Property(tries = 500)
  void aWrongIndexInFrontIsCaught(@ForAll("shares") UnsealShare share, @ForAll @IntRange(min = 0, max = 999) int typedIndex) {
    net.jqwik.api.Assume.that(typedIndex != share.index());
    String text = ShareCodec.encode(share);
    String typed = "kw1-" + typedIndex + text.substring(text.lastIndexOf('-'));
    KeywardenException e = assertRefusedWithoutEcho(typed, text);
    assertEquals("share says index " + typedIndex + " but its code is for index " + share.index()
        + " (check the number after kw1-)", e.getMessage());
  }

  @Property(tries = 300)
  void swappingTwoDifferentAdjacentCharactersIsCaught(
      @ForAll("shares") UnsealShare share, @ForAll @IntRange(min = 0, max = 67) int position) {
    String text = ShareCodec.encode(share);
    String prefix = text.substring(0, text.lastIndexOf('-') + 1);
    char[] code = text.substring(prefix.length()).toCharArray();
    net.jqwik.api.Assume.that(code[position] != code[position + 1]);
    char c = code[position];
    code[position] = code[position + 1];
    code[position + 1] = c;
    assertRefusedWithoutEcho(prefix + new String(code), text);
  }

  static KeywardenException assertRefusedWithoutEcho(String typed, String original) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> ShareCodec.decode(typed));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    String message = e.getMessage().toUpperCase(Locale.ROOT);
    String typedCode = typed.substring(typed.lastIndexOf('-') + 1).toUpperCase(Locale.ROOT);
    String originalCode = original.substring(original.lastIndexOf('-') + 1);
    // no run of 6 characters of either code may appear in the message
    for (String code : new String[] {typedCode, originalCode}) {
      for (int i = 0; i + 6 <= code.length(); i++) {
        assertFalse(message.contains(code.substring(i, i + 6)), e.getMessage());
      }
    }
    assertFalse(e.getMessage().contains(typed));
    return e;
  }
}
