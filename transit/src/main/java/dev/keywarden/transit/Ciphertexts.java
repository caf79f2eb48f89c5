package dev.keywarden.transit;

import dev.keywarden.failure.KeywardenException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/** The self-describing ciphertext string `kw:v<version>:<base64>`. */
public final class Ciphertexts {
  private static final String PREFIX = "kw:v";

  private Ciphertexts() {}

  /** A parsed ciphertext: the key version and the AEAD output. */
  public record Parsed(int version, byte[] bytes) {}

  /** Formats AEAD output under a version. */
  public static String format(int version, byte[] bytes) {
    // One pass on the hot path: encode into the final buffer, slide it past the prefix, build the (Latin-1) String.
    byte[] prefix = (PREFIX + version + ":").getBytes(StandardCharsets.US_ASCII);
    int encoded = 4 * ((bytes.length + 2) / 3);
    byte[] out = new byte[prefix.length + encoded];
    Base64.getEncoder().encode(bytes, out);
    System.arraycopy(out, 0, out, prefix.length, encoded);
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    return new String(out, StandardCharsets.ISO_8859_1);
  }

  /** Parses `kw:v<version>:<base64>`; INVALID_ARGUMENT says what is malformed. */
  public static Parsed parse(String text) {
    if (text == null || !text.startsWith(PREFIX)) {
      throw KeywardenException.invalid("malformed ciphertext: expected kw:v<version>:<base64>");
    }
    int colon = text.indexOf(':', PREFIX.length());
    if (colon < 0) {
      throw KeywardenException.invalid("malformed ciphertext: no ':' after the version");
    }
    int version;
    try {
      version = Integer.parseInt(text, PREFIX.length(), colon, 10);
    } catch (NumberFormatException e) {
      throw KeywardenException.invalid("malformed ciphertext: the version is not a number");
    }
    if (version < 1) {
      throw KeywardenException.invalid("malformed ciphertext: version must be 1 or more");
    }
    try {
      // One copy of the text (Latin-1 bytes), decoded in place: no substring, no second getBytes inside decode.
      byte[] ascii = text.getBytes(StandardCharsets.ISO_8859_1);
      ByteBuffer decoded = Base64.getDecoder().decode(ByteBuffer.wrap(ascii, colon + 1, ascii.length - colon - 1));
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
