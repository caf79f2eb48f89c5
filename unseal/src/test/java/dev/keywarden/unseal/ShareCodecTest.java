package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.common.io.BaseEncoding;
import dev.keywarden.failure.KeywardenException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ShareCodecTest {

  private static final byte[] VALUE = new byte[32];

  static {
    for (int i = 0; i < VALUE.length; i++) {
      VALUE[i] = (byte) (i * 7 + 1);
    }
  }

  @Test
  void encodesTheDocumentedLayout() throws Exception {
    UnsealShare share = new UnsealShare(0x01020304, 3, 2, VALUE.clone());
    String text = ShareCodec.encode(share);
    byte[] body = BaseEncoding.base32().omitPadding().decode(text.substring("kw1-3-".length()));
    assertEquals("kw1-3-", text.substring(0, 6));
    assertEquals(43, body.length);
    assertArrayEquals(new byte[] {1, 1, 2, 3, 4, 3, 2}, Arrays.copyOf(body, 7));
    assertArrayEquals(VALUE, Arrays.copyOfRange(body, 7, 39));
    byte[] sha = MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(body, 39));
    assertArrayEquals(Arrays.copyOf(sha, 4), Arrays.copyOfRange(body, 39, 43));
  }

  @Test
  void sharesFromASplitSurviveTheTextFormAndRebuildTheKey() {
    byte[] key = Shares.key(new java.util.Random(7));
    List<UnsealShare> shares = UnsealKeySplitter.split(key, 5, 3, new SecureRandom());
    List<UnsealShare> typedBack = shares.stream()
        .map(ShareCodec::encode)
        .map(s -> "  " + s.toLowerCase() + "\n")
        .map(ShareCodec::decode)
        .collect(Collectors.toList());
    assertEquals(shares, typedBack);
    assertArrayEquals(key, UnsealKeySplitter.combine(typedBack.subList(1, 4)));
  }

  @Test
  void spacesInsideTheCodeAreIgnored() {
    UnsealShare share = new UnsealShare(7, 12, 3, VALUE.clone());
    String text = ShareCodec.encode(share);
    String code = text.substring("kw1-12-".length());
    StringBuilder grouped = new StringBuilder("kw1-12-");
    for (int i = 0; i < code.length(); i += 5) {
      grouped.append(code, i, Math.min(code.length(), i + 5)).append(' ');
    }
    assertEquals(share, ShareCodec.decode(grouped.toString()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "   ", "hello", "kw1", "kw1-", "kw1-3", "kw1--ABC", "kw-3-ABC", "kwx-3-ABC", "3-ABCDEF",
      "kw1-3-ABC-DEF", "kw1-a-ABC", "kw1-3-AB_C"})
  void garbageIsNotAShare(String typed) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> ShareCodec.decode(typed));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals("not a Keywarden unseal share: expected kw1-<index>-<code>", e.getMessage());
  }

  @Test
  void nullIsNotAShare() {
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT,
        assertThrows(KeywardenException.class, () -> ShareCodec.decode(null)).kind());
  }

  @Test
  void mistypedCharacterSaysCheckEachCharacter() {
    String text = ShareCodec.encode(new UnsealShare(99, 3, 2, VALUE.clone()));
    char[] chars = text.toCharArray();
    chars[20] = chars[20] == 'Q' ? 'R' : 'Q';
    String typed = new String(chars);
    KeywardenException e = ShareCodecPropertiesTest.assertRefusedWithoutEcho(typed, text);
    assertEquals("share 3 is mistyped: its checksum does not match (check each character)", e.getMessage());
  }

  @Test
  void digitsOutsideBase32AreNamedByPosition() {
    String text = ShareCodec.encode(new UnsealShare(99, 3, 2, VALUE.clone()));
    char[] chars = text.toCharArray();
    chars[6 + 9] = '0';
    KeywardenException e = ShareCodecPropertiesTest.assertRefusedWithoutEcho(new String(chars), text);
    assertEquals("share 3 is mistyped: character 10 of its code is not a letter A-Z or a digit 2-7 (0, 1, 8 and 9 never occur)",
        e.getMessage());
  }

  @Test
  void missingCharacterSaysSo() {
    String text = ShareCodec.encode(new UnsealShare(99, 3, 2, VALUE.clone()));
    KeywardenException e = ShareCodecPropertiesTest.assertRefusedWithoutEcho(text.substring(0, text.length() - 1), text);
    assertEquals("share 3 is mistyped: its code has 68 characters instead of 69 (check for missing or extra characters)",
        e.getMessage());
  }

  @Test
  void unknownTextVersionIsNamed() {
    String text = ShareCodec.encode(new UnsealShare(99, 3, 2, VALUE.clone()));
    KeywardenException e = ShareCodecPropertiesTest.assertRefusedWithoutEcho("kw2" + text.substring(3), text);
    assertEquals("share uses format version 2, which this Keywarden does not understand: "
        + "use the Keywarden version that made the shares", e.getMessage());
  }

  @Test
  void unknownBinaryVersionWithAValidChecksumIsNamed() throws Exception {
    byte[] body = new byte[43];
    body[0] = 2;
    body[5] = 3;
    body[6] = 2;
    byte[] sha = MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(body, 39));
    System.arraycopy(sha, 0, body, 39, 4);
    String typed = "kw1-3-" + BaseEncoding.base32().omitPadding().encode(body);
    KeywardenException e = ShareCodecPropertiesTest.assertRefusedWithoutEcho(typed, typed);
    assertEquals(true, e.getMessage().startsWith("share uses format version 2"), e.getMessage());
  }

  @Test
  void indexZeroInsideAValidCodeIsRefused() throws Exception {
    byte[] body = new byte[43];
    body[0] = 1;
    body[6] = 2;
    byte[] sha = MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(body, 39));
    System.arraycopy(sha, 0, body, 39, 4);
    String typed = "kw1-0-" + BaseEncoding.base32().omitPadding().encode(body);
    KeywardenException e = ShareCodecPropertiesTest.assertRefusedWithoutEcho(typed, typed);
    assertEquals("share 0 is damaged: it was not made by Keywarden", e.getMessage());
  }

  @Test
  void everySingleCharacterChangeOfTheCodeIsCaughtExhaustively() {
    for (UnsealShare share : UnsealKeySplitter.split(Shares.key(new java.util.Random(3)), 3, 2, new SecureRandom())) {
      String text = ShareCodec.encode(share);
      String prefix = text.substring(0, text.lastIndexOf('-') + 1);
      String code = text.substring(prefix.length());
      String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
      for (int i = 0; i < code.length(); i++) {
        for (char c : alphabet.toCharArray()) {
          if (c != code.charAt(i)) {
            String typed = prefix + code.substring(0, i) + c + code.substring(i + 1);
            ShareCodecPropertiesTest.assertRefusedWithoutEcho(typed, text);
          }
        }
      }
    }
  }

  @Test
  void exampleShare() {
    // printed so that the documented example stays true
    System.out.println("example share: " + ShareCodec.encode(new UnsealShare(0x5eed1234, 2, 3, VALUE.clone())));
  }
}
