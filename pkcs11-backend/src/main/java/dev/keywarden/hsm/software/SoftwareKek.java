package dev.keywarden.hsm.software;

import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.hsm.KeyMaterialBounds;
import java.security.GeneralSecurityException;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.NoSuchPaddingException;
import javax.crypto.spec.SecretKeySpec;

/**
 * A KEK derived in memory, used with the JDK's {@code AES/KWP/NoPadding} (RFC 5649). Dev-only. Its key bytes are
 * zeroized when the HSM that made it closes.
 */
final class SoftwareKek implements KeyEncryptionKey {

  private static final String TRANSFORMATION = "AES/KWP/NoPadding";

  private final SoftwareHsm hsm;
  private final KekIdentity identity;
  private final byte[] key;

  SoftwareKek(SoftwareHsm hsm, KekIdentity identity, byte[] key) {
    this.hsm = hsm;
    this.identity = identity;
    this.key = key;
  }

  @Override
  public byte[] wrap(byte[] keyMaterial) {
    KeyMaterialBounds.requireWrappable(keyMaterial);
    try (SoftwareHsm.Use use = hsm.use()) {
      return wrapWithKey(key, keyMaterial);
    }
  }

  @Override
  public byte[] unwrap(byte[] wrapped) {
    KeyMaterialBounds.requireUnwrappable(wrapped);
    try (SoftwareHsm.Use use = hsm.use()) {
      return unwrapWithKey(key, wrapped);
    }
  }

  /** Called by the HSM as it closes, under its write lock. */
  void zeroize() {
    Arrays.fill(key, (byte) 0);
  }

  @Override
  public KekIdentity identity() {
    return identity;
  }

  @Override
  public String toString() {
    return "SoftwareKek[" + identity.label() + ", id " + identity.idHex() + "]";
  }

  /** RFC 5649 wrap of {@code keyMaterial} under the raw AES key {@code kek}. */
  static byte[] wrapWithKey(byte[] kek, byte[] keyMaterial) {
    try {
      Cipher cipher = cipher();
      cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(kek, "AES"));
      return cipher.doFinal(keyMaterial);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES/KWP wrap failed: " + e.getClass().getSimpleName(), e);
    }
  }

  /** RFC 5649 unwrap under the raw AES key {@code kek}; the integrity failure for a blob that does not unwrap. */
  static byte[] unwrapWithKey(byte[] kek, byte[] wrapped) {
    KeyMaterialBounds.requireUnwrappable(wrapped);
    Cipher cipher = cipher();
    byte[] plain;
    try {
      cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(kek, "AES"));
      plain = cipher.doFinal(wrapped);
    } catch (GeneralSecurityException e) {
      throw KeyMaterialBounds.integrityFailure(null);
    }
    if (plain.length == 0 || plain.length > KeyMaterialBounds.MAX_BYTES) {
      Arrays.fill(plain, (byte) 0);
      throw KeyMaterialBounds.integrityFailure(null);
    }
    return plain;
  }

  private static Cipher cipher() {
    try {
      return Cipher.getInstance(TRANSFORMATION);
    } catch (NoSuchAlgorithmException | NoSuchPaddingException e) {
      throw new IllegalStateException(TRANSFORMATION + " is missing from this JDK (needs JDK 17+)", e);
    }
  }
}
