package dev.keywarden.transit.crypto;

import dev.keywarden.failure.KeywardenException;
import java.util.Objects;

/** Factories for the software AEADs. */
public final class Aeads {

  private Aeads() {
  }

  /** AES-GCM with a 96-bit nonce and 128-bit tag; key of 16, 24 or 32 bytes (copied). */
  public static Aead aesGcm(byte[] key) {
    Objects.requireNonNull(key, "key");
    if (key.length != 16 && key.length != 24 && key.length != 32) {
      throw KeywardenException.invalid("AES-GCM key must be 16, 24 or 32 bytes, got " + key.length);
    }
    return new JcaAead(JcaAead.Algorithm.AES_GCM, key);
  }

  /** ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce; key of 32 bytes (copied). */
  public static Aead chacha20Poly1305(byte[] key32) {
    Objects.requireNonNull(key32, "key");
    if (key32.length != 32) {
      throw KeywardenException.invalid("ChaCha20-Poly1305 key must be 32 bytes, got " + key32.length);
    }
    return new JcaAead(JcaAead.Algorithm.CHACHA20_POLY1305, key32);
  }
}
