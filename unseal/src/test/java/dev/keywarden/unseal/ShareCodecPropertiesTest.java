package dev.keywarden.unseal;

import static dev.keywarden.testing.Generators.bytes;
import static dev.keywarden.testing.Generators.randoms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.keywarden.failure.KeywardenException;
import java.util.HexFormat;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

class ShareCodecPropertiesTest {

  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  static Gen<UnsealShare> shares() {
    Gen<Integer> threshold = integers().between(1, 255);
    Gen<Integer> index = integers().between(1, 255);
    Gen<byte[]> value = bytes(32);
    return integers().all().zip(index, threshold, value, UnsealShare::new)
        .describedAs(share -> share + " value=0x" + HexFormat.of().formatHex(share.value()));
  }

  @Test
  void encodeThenDecodeIsIdentity() {
    qt().withExamples(1000).forAll(shares()).checkAssert(share -> {
      String text = ShareCodec.encode(share);
      assertTrue(text.startsWith("kw1-" + share.index() + "-"), text);
      assertTrue(text.matches("kw1-[0-9]+-[A-Z2-7]{69}"), text);
      assertEquals(share, ShareCodec.decode(text));
    });
  }

  @Test
  void caseAndWhitespaceDoNotMatter() {
    qt().withExamples(1000).forAll(shares(), randoms()).checkAssert((share, random) -> {
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
    });
  }

  @Test
  void anySingleCharacterChangeInTheCodeIsCaught() {
    qt().withExamples(2000)
        .forAll(shares(), integers().between(0, 68), integers().between(1, 31))
        .checkAssert((share, position, shift) -> {
          String text = ShareCodec.encode(share);
          String prefix = text.substring(0, text.lastIndexOf('-') + 1);
          char[] code = text.substring(prefix.length()).toCharArray();
          code[position] = ALPHABET.charAt((ALPHABET.indexOf(code[position]) + shift) % 32);
          String typed = prefix + new String(code);
          assertRefusedWithoutEcho(typed, text);
        });
  }

  /** A share whose code holds "ARACTE", as "character" in the message does: not an echo (a CI run once said so). */
  @Test
  void aCodeSharingLettersWithTheMessageWordsIsNoEcho() {
    UnsealShare share = new UnsealShare(0, 1, 1,
        HexFormat.of().parseHex("00000000000000000000000000000000022014c9000000000000000000000000"));
    String text = ShareCodec.encode(share);
    assertTrue(text.contains("ARACTE"), text);
    String prefix = text.substring(0, text.lastIndexOf('-') + 1);
    char[] code = text.substring(prefix.length()).toCharArray();
    code[0] = ALPHABET.charAt((ALPHABET.indexOf(code[0]) + 1) % 32);
    assertRefusedWithoutEcho(prefix + new String(code), text);
  }

  @Test
  void insertingOrDeletingACharacterIsCaught() {
    qt().withExamples(1000)
        .forAll(shares(), integers().between(0, 68), integers().between(0, 31), booleans().all())
        .checkAssert((share, position, letter, insert) -> {
          String text = ShareCodec.encode(share);
          int at = text.lastIndexOf('-') + 1 + position;
          String typed = insert
              ? text.substring(0, at) + ALPHABET.charAt(letter) + text.substring(at)
              : text.substring(0, at) + text.substring(at + 1);
          assertRefusedWithoutEcho(typed, text);
        });
  }

  @Test
  void aWrongIndexInFrontIsCaught() {
    qt().withExamples(500)
        .forAll(shares(), integers().between(0, 999))
        .assuming((share, typedIndex) -> typedIndex != share.index())
        .checkAssert((share, typedIndex) -> {
          String text = ShareCodec.encode(share);
          String typed = "kw1-" + typedIndex + text.substring(text.lastIndexOf('-'));
          KeywardenException e = assertRefusedWithoutEcho(typed, text);
          assertEquals("share says index " + typedIndex + " but its code is for index " + share.index()
              + " (check the number after kw1-)", e.getMessage());
        });
  }

  @Test
  void swappingTwoDifferentAdjacentCharactersIsCaught() {
    qt().withExamples(300)
        .forAll(shares(), integers().between(0, 67))
        .assuming((share, position) -> {
          char[] code = code(share);
          return code[position] != code[position + 1];
        })
        .checkAssert((share, position) -> {
          String text = ShareCodec.encode(share);
          String prefix = text.substring(0, text.lastIndexOf('-') + 1);
          char[] code = code(share);
          char c = code[position];
          code[position] = code[position + 1];
          code[position + 1] = c;
          assertRefusedWithoutEcho(prefix + new String(code), text);
        });
  }

  /** The characters after the share's {@code kw1-N-} prefix. */
  private static char[] code(UnsealShare share) {
    String text = ShareCodec.encode(share);
    return text.substring(text.lastIndexOf('-') + 1).toCharArray();
  }

  static KeywardenException assertRefusedWithoutEcho(String typed, String original) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> ShareCodec.decode(typed));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    String message = e.getMessage();
    String upper = message.toUpperCase(Locale.ROOT);
    String typedCode = typed.substring(typed.lastIndexOf('-') + 1).toUpperCase(Locale.ROOT);
    String originalCode = original.substring(original.lastIndexOf('-') + 1);
    // No run of 6 characters of either code may appear in the message as typed (the messages' own words are lower
    // case: "ARACTE" is in "character"), nor a run of 11 in any case (longer than any word of the messages).
    for (String code : new String[] {typedCode, originalCode}) {
      for (int i = 0; i + 6 <= code.length(); i++) {
        assertFalse(message.contains(code.substring(i, i + 6)), message);
      }
      for (int i = 0; i + 11 <= code.length(); i++) {
        assertFalse(upper.contains(code.substring(i, i + 11)), message);
      }
    }
    assertFalse(e.getMessage().contains(typed));
    return e;
  }
}
