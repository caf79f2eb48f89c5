package dev.keywarden.unseal;

import com.google.common.io.BaseEncoding;
import dev.keywarden.failure.KeywardenException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text form of an unseal share that operators write down and type back: {@code kw1-<index>-<code>}, where the
 * code is base32 (RFC 4648, no padding) of version | shareSetId | index | threshold | value | checksum.
 *
 * <p>Error messages tell the operator what to fix and never repeat what was typed.
 */
public final class ShareCodec {

  /** The binary layout version, first byte of the code. */
  static final int VERSION = 1;

  static final String PREFIX = "kw" + VERSION + "-";

  private static final int CHECKSUM_BYTES = 4;
  private static final int BODY_BYTES = 1 + 4 + 1 + 1 + UnsealKeySplitter.KEY_BYTES + CHECKSUM_BYTES;
  private static final BaseEncoding BASE32 = BaseEncoding.base32().omitPadding();

  /** Length of the base32 code, in characters. */
  static final int CODE_CHARS = BASE32.encode(new byte[BODY_BYTES]).length();

  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  private static final Pattern SHAPE = Pattern.compile("kw(\\d{1,9})-(\\d{1,9})-([A-Za-z0-9]*)", Pattern.CASE_INSENSITIVE);
  private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);

  private ShareCodec() {}

  /** The share as text, e.g. {@code kw1-3-AEAA...}. The result holds the share's secret. */
  public static String encode(UnsealShare share) {
    if (share.value() == null || share.value().length != UnsealKeySplitter.KEY_BYTES) {
      throw new IllegalArgumentException("share value must be " + UnsealKeySplitter.KEY_BYTES + " bytes");
    }
    byte[] body = new byte[BODY_BYTES];
    try {
      ByteBuffer buffer = ByteBuffer.wrap(body);
      buffer.put((byte) VERSION);
      buffer.putInt(share.shareSetId());
      buffer.put((byte) share.index());
      buffer.put((byte) share.threshold());
      buffer.put(share.value());
      buffer.put(checksum(body, BODY_BYTES - CHECKSUM_BYTES));
      return PREFIX + share.index() + "-" + BASE32.encode(body);
    } finally {
      Arrays.fill(body, (byte) 0);
    }
  }

  /** Parses what an operator typed; case, surrounding whitespace and spaces inside do not matter. */
  public static UnsealShare decode(String typed) {
    if (typed == null) {
      throw KeywardenException.invalid("no share given: expected kw1-<index>-<code>");
    }
    String compact = WHITESPACE.matcher(typed).replaceAll("");
    Matcher m = SHAPE.matcher(compact);
    if (!m.matches()) {
      throw KeywardenException.invalid("not a Keywarden unseal share: expected kw1-<index>-<code>");
    }
    int textVersion = Integer.parseInt(m.group(1));
    if (textVersion != VERSION) {
      throw unknownVersion(textVersion);
    }
    int typedIndex = Integer.parseInt(m.group(2));
    String code = m.group(3).toUpperCase(Locale.ROOT);
    String label = "share " + typedIndex;
    if (code.length() != CODE_CHARS) {
      throw KeywardenException.invalid(label + " is mistyped: its code has " + code.length() + " characters instead of "
          + CODE_CHARS + " (check for missing or extra characters)");
    }
    for (int i = 0; i < code.length(); i++) {
      if (ALPHABET.indexOf(code.charAt(i)) < 0) {
        throw KeywardenException.invalid(label + " is mistyped: character " + (i + 1)
            + " of its code is not a letter A-Z or a digit 2-7 (0, 1, 8 and 9 never occur)");
      }
    }
    byte[] body;
    try {
      body = BASE32.decode(code);
    } catch (IllegalArgumentException e) {
      // deliberately without the cause: its message could quote the code
      throw mistyped(label);
    }
    try {
      // the last character carries one unused bit: only the canonical spelling is accepted, so that every
      // single-character change is caught
      if (!BASE32.encode(body).equals(code)) {
        throw mistyped(label);
      }
      byte[] expected = checksum(body, BODY_BYTES - CHECKSUM_BYTES);
      if (!MessageDigest.isEqual(expected, Arrays.copyOfRange(body, BODY_BYTES - CHECKSUM_BYTES, BODY_BYTES))) {
        throw mistyped(label);
      }
      ByteBuffer buffer = ByteBuffer.wrap(body);
      int binaryVersion = buffer.get() & 0xff;
      if (binaryVersion != VERSION) {
        throw unknownVersion(binaryVersion);
      }
      int shareSetId = buffer.getInt();
      int index = buffer.get() & 0xff;
      int threshold = buffer.get() & 0xff;
      if (index != typedIndex) {
        throw KeywardenException.invalid("share says index " + typedIndex + " but its code is for index " + index
            + " (check the number after kw1-)");
      }
      if (index < 1 || threshold < 1) {
        throw KeywardenException.invalid(label + " is damaged: it was not made by Keywarden");
      }
      byte[] value = new byte[UnsealKeySplitter.KEY_BYTES];
      buffer.get(value);
      return new UnsealShare(shareSetId, index, threshold, value);
    } finally {
      Arrays.fill(body, (byte) 0);
    }
  }

  private static KeywardenException mistyped(String label) {
    return KeywardenException.invalid(label + " is mistyped: its checksum does not match (check each character)");
  }

  private static KeywardenException unknownVersion(int version) {
    return KeywardenException.invalid("share uses format version " + version
        + ", which this Keywarden does not understand: use the Keywarden version that made the shares");
  }

  private static byte[] checksum(byte[] bytes, int length) {
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      sha256.update(bytes, 0, length);
      byte[] digest = sha256.digest();
      byte[] result = Arrays.copyOf(digest, CHECKSUM_BYTES);
      Arrays.fill(digest, (byte) 0);
      return result;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
