package dev.keywarden.transit;

import dev.keywarden.failure.KeywardenException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * The self-describing ciphertext text `kw:v<version>:<base64>`, as a String or as its US-ASCII bytes. The server
 * works on the bytes: they go into and come out of the protobuf string field as they are, with no Java String made
 * and no UTF-8 pass in between.
 */
public final class Ciphertexts {
  private static final String PREFIX = "kw:v";

  private Ciphertexts() {}

  /** A parsed ciphertext: the key version and the AEAD output. */
  public record Parsed(int version, byte[] bytes) {}

  /** Formats AEAD output under a version. */
  public static String format(int version, byte[] bytes) {
    return new String(formatAscii(version, bytes), StandardCharsets.ISO_8859_1);
  }

  /** Formats AEAD output under a version ({@code > 0}) as US-ASCII bytes. */
  public static byte[] formatAscii(int version, byte[] bytes) {
    // One pass: the bytes encoded into the final buffer and slid past the header, whose digits are written in place.
    int header = PREFIX.length() + digits(version) + 1;
    int encoded = 4 * ((bytes.length + 2) / 3);
    byte[] out = new byte[header + encoded];
    Base64.getEncoder().encode(bytes, out);
    System.arraycopy(out, 0, out, header, encoded);
    out[0] = 'k';
    out[1] = 'w';
    out[2] = ':';
    out[3] = 'v';
    for (int i = header - 2, v = version; i >= PREFIX.length(); i--, v /= 10) {
      out[i] = (byte) ('0' + v % 10);
    }
    out[header - 1] = ':';
    return out;
  }

  private static int digits(int positive) {
    int n = 1;
    for (int v = positive; v >= 10; v /= 10) {
      n++;
    }
    return n;
  }

  /** Parses `kw:v<version>:<base64>`; INVALID_ARGUMENT says what is malformed. */
  public static Parsed parse(String text) {
    if (text == null) {
      throw KeywardenException.invalid("malformed ciphertext: expected kw:v<version>:<base64>");
    }
    // Characters above U+00FF become '?', which neither the header nor base64 accepts.
    return parseAscii(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** Parses the US-ASCII bytes of `kw:v<version>:<base64>`; INVALID_ARGUMENT says what is malformed. */
  public static Parsed parseAscii(byte[] text) {
    if (text == null || text.length < PREFIX.length() || text[0] != 'k' || text[1] != 'w' || text[2] != ':'
        || text[3] != 'v') {
      throw KeywardenException.invalid("malformed ciphertext: expected kw:v<version>:<base64>");
    }
    int colon = PREFIX.length();
    while (colon < text.length && text[colon] != ':') {
      colon++;
    }
    if (colon == text.length) {
      throw KeywardenException.invalid("malformed ciphertext: no ':' after the version");
    }
    if (colon == PREFIX.length() || colon - PREFIX.length() > 10) {
      throw KeywardenException.invalid("malformed ciphertext: the version is not a number");
    }
    long v = 0;
    for (int i = PREFIX.length(); i < colon; i++) {
      int d = text[i] - '0';
      if (d < 0 || d > 9) {
        throw KeywardenException.invalid("malformed ciphertext: the version is not a number");
      }
      v = v * 10 + d;
    }
    if (v > Integer.MAX_VALUE) {
      throw KeywardenException.invalid("malformed ciphertext: the version is not a number");
    }
    int version = (int) v;
    if (version < 1) {
      throw KeywardenException.invalid("malformed ciphertext: version must be 1 or more");
    }
    try {
      ByteBuffer decoded = Base64.getDecoder().decode(ByteBuffer.wrap(text, colon + 1, text.length - colon - 1));
      byte[] bytes = decoded.array();
      if (decoded.arrayOffset() != 0 || decoded.remaining() != bytes.length) {
        bytes = Arrays.copyOfRange(bytes, decoded.arrayOffset() + decoded.position(),
            decoded.arrayOffset() + decoded.limit());
      }
      return new Parsed(version, bytes);
    } catch (IllegalArgumentException e) {
      throw KeywardenException.invalid("malformed ciphertext: the part after the version is not base64");
    }
  }
}
