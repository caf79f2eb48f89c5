package dev.keywarden.hsm.software;

import dev.keywarden.hsm.AesGcmLayout;
import dev.keywarden.hsm.HsmAead;
import dev.keywarden.hsm.HsmKeyId;
import java.security.GeneralSecurityException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.NoSuchPaddingException;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * An AES-256 key derived in memory, used with the JDK's {@code AES/GCM/NoPadding}. Dev-only. Its key bytes are
 * zeroized when the key is destroyed or the HSM that made it closes.
 */
final class SoftwareAead implements HsmAead {

  private static final String TRANSFORMATION = "AES/GCM/NoPadding";

  private final SoftwareHsm hsm;
  private final HsmKeyId id;
  private final byte[] key;
  private final SecureRandom random = new SecureRandom();

  SoftwareAead(SoftwareHsm hsm, HsmKeyId id, byte[] key) {
    this.hsm = hsm;
    this.id = id;
    this.key = key;
  }

  @Override
  public byte[] encrypt(byte[] plaintext, byte[] aad) {
    AesGcmLayout.requireEncryptable(plaintext);
    byte[] nonce = new byte[AesGcmLayout.NONCE_BYTES];
    random.nextBytes(nonce);
    try (SoftwareHsm.Use use = hsm.use()) {
      hsm.requireHeld(id);
      return encryptWithKey(key, nonce, plaintext, aad);
    }
  }

  @Override
  public byte[] decrypt(byte[] nonceCiphertextTag, byte[] aad) {
    AesGcmLayout.requireDecryptable(nonceCiphertextTag);
    try (SoftwareHsm.Use use = hsm.use()) {
      hsm.requireHeld(id);
      return decryptWithKey(key, nonceCiphertextTag, aad);
    }
  }

  @Override
  public HsmKeyId id() {
    return id;
  }

  /** Called by the HSM under its write lock, as the key is destroyed or the HSM closes. */
  void zeroize() {
    Arrays.fill(key, (byte) 0);
  }

  @Override
  public String toString() {
    return "SoftwareAead[" + id.label() + ", id " + id.idHex() + "]";
  }

  /** AES-GCM of {@code plaintext} under the raw AES key {@code key} with this nonce: nonce || ciphertext || tag. */
  static byte[] encryptWithKey(byte[] key, byte[] nonce, byte[] plaintext, byte[] aad) {
    AesGcmLayout.requireEncryptable(plaintext);
    try {
      Cipher cipher = cipher();
      cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"),
          new GCMParameterSpec(AesGcmLayout.TAG_BITS, nonce));
      cipher.updateAAD(AesGcmLayout.aad(aad));
      byte[] blob = new byte[nonce.length + cipher.getOutputSize(plaintext.length)];
      System.arraycopy(nonce, 0, blob, 0, nonce.length);
      cipher.doFinal(plaintext, 0, plaintext.length, blob, nonce.length);
      return blob;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES/GCM encryption failed: " + e.getClass().getSimpleName(), e);
    }
  }

  /** Decrypts nonce || ciphertext || tag under the raw AES key {@code key}; the authentication failure if it fails. */
  static byte[] decryptWithKey(byte[] key, byte[] nonceCiphertextTag, byte[] aad) {
    AesGcmLayout.requireDecryptable(nonceCiphertextTag);
    Cipher cipher = cipher();
    try {
      cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"),
          new GCMParameterSpec(AesGcmLayout.TAG_BITS, nonceCiphertextTag, 0, AesGcmLayout.NONCE_BYTES));
      cipher.updateAAD(AesGcmLayout.aad(aad));
      return cipher.doFinal(nonceCiphertextTag, AesGcmLayout.NONCE_BYTES,
          nonceCiphertextTag.length - AesGcmLayout.NONCE_BYTES);
    } catch (AEADBadTagException e) {
      throw AesGcmLayout.authenticationFailure(null);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES/GCM decryption failed: " + e.getClass().getSimpleName(), e);
    }
  }

  private static Cipher cipher() {
    try {
      return Cipher.getInstance(TRANSFORMATION);
    } catch (NoSuchAlgorithmException | NoSuchPaddingException e) {
      throw new IllegalStateException(TRANSFORMATION + " is missing from this JDK", e);
    }
  }
}
