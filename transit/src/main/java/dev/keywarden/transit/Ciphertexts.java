package dev.keywarden.transit;

import dev.keywarden.failure.KeywardenException;
import java.util.Base64;

/** The self-describing ciphertext string `kw:v<version>:<base64>`. */
public final class Ciphertexts {
  private static final String PREFIX = "kw:v";

  private Ciphertexts() {}

  /** A parsed ciphertext: the key version and the AEAD output. */
  public record Parsed(int version, byte[] bytes) {}

  /** Formats AEAD output under a version. */
  public static String format(int version, byte[] bytes) {
    return PREFIX + version + ":" + Base64.getEncoder().encodeToString(bytes);
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
      return new Parsed(version, Base64.getDecoder().decode(text.substring(colon + 1)));
    } catch (IllegalArgumentException e) {
      throw KeywardenException.invalid("malformed ciphertext: the part after the version is not base64");
    }
  }
}
