package dev.keywarden.encoding;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** PEM text for DER blocks the engine hands out (and the one PEM encoder other modules use). */
public final class Pem {
  private static final Base64.Encoder MIME = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));

  private Pem() {}

  /** A CERTIFICATE block. */
  public static String certificate(byte[] der) {
    return block("CERTIFICATE", der);
  }

  public static String block(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + MIME.encodeToString(der) + "\n-----END " + type + "-----\n";
  }
}
