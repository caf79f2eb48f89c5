package dev.keywarden.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_GCM;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_ENCRYPTED_DATA_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_ENCRYPTED_DATA_LEN_RANGE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_GENERAL_ERROR;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_KEY_HANDLE_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_OBJECT_HANDLE_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_OPERATION_NOT_INITIALIZED;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.AesGcmLayout;
import dev.keywarden.hsm.HsmAead;
import dev.keywarden.hsm.HsmKeyId;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Arrays;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.TokenException;
import org.xipki.pkcs11.wrapper.params.GCM_PARAMS;

/**
 * An AES key held by a PKCS#11 token, used with CKM_AES_GCM inside the token. The nonce is ours (SecureRandom), given
 * to the token as the GCM IV, so the output is the same on every module and decrypts with any AES-GCM.
 */
final class Pkcs11Aead implements HsmAead {

  private final Pkcs11Hsm hsm;
  private final HsmKeyId id;
  private final long handle;
  private final SecureRandom random = new SecureRandom();

  Pkcs11Aead(Pkcs11Hsm hsm, HsmKeyId id, long handle) {
    this.hsm = hsm;
    this.id = id;
    this.handle = handle;
  }

  @Override
  public byte[] encrypt(byte[] plaintext, byte[] aad) {
    AesGcmLayout.requireEncryptable(plaintext);
    byte[] nonce = new byte[AesGcmLayout.NONCE_BYTES];
    random.nextBytes(nonce);
    try (Pkcs11Hsm.Use use = hsm.use()) {
      try {
        return encryptUnder(hsm.token(), handle, nonce, plaintext, aad);
      } catch (TokenException e) {
        throw failure("encrypting with", e);
      }
    }
  }

  @Override
  public byte[] decrypt(byte[] nonceCiphertextTag, byte[] aad) {
    AesGcmLayout.requireDecryptable(nonceCiphertextTag);
    try (Pkcs11Hsm.Use use = hsm.use()) {
      try {
        return decryptUnder(hsm.token(), handle, nonceCiphertextTag, aad);
      } catch (TokenException e) {
        throw failure("decrypting with", e);
      }
    }
  }

  @Override
  public HsmKeyId id() {
    return id;
  }

  @Override
  public String toString() {
    return "Pkcs11Aead[" + id.label() + ", id " + id.idHex() + "]";
  }

  /**
   * AES-GCM of {@code plaintext} under the key {@code key} inside the token with this nonce: nonce || ciphertext || tag.
   * SoftHSM2 2.6.1 refuses C_Encrypt of no data with CKR_ARGUMENTS_BAD, so an empty plaintext goes through
   * C_EncryptInit and C_EncryptFinal alone, which yields the tag (standard GCM of nothing, checked against the JDK).
   */
  static byte[] encryptUnder(PKCS11Token token, long key, byte[] nonce, byte[] plaintext, byte[] aad)
      throws TokenException {
    Mechanism gcm = gcm(nonce, aad);
    byte[] sealed;
    if (plaintext.length == 0) {
      ByteArrayOutputStream out = new ByteArrayOutputStream(AesGcmLayout.TAG_BYTES);
      try {
        token.encrypt(out, gcm, key, new ByteArrayInputStream(plaintext));
      } catch (IOException e) {
        throw new IllegalStateException("in-memory streams do not fail", e);
      }
      sealed = out.toByteArray();
    } else {
      sealed = token.encrypt(gcm, key, plaintext);
    }
    if (sealed.length != plaintext.length + AesGcmLayout.TAG_BYTES) {
      throw KeywardenException.unavailable("CKM_AES_GCM returned " + sealed.length + " bytes for "
          + plaintext.length + " bytes of plaintext", null);
    }
    byte[] blob = new byte[nonce.length + sealed.length];
    System.arraycopy(nonce, 0, blob, 0, nonce.length);
    System.arraycopy(sealed, 0, blob, nonce.length, sealed.length);
    return blob;
  }

  /**
   * Decrypts nonce || ciphertext || tag under the key {@code key} inside the token; the caller zeroizes the result.
   * Throws the authentication failure for a blob that does not decrypt. SoftHSM2 2.6.1 reports a tag mismatch as
   * CKR_GENERAL_ERROR, so that code counts as an authentication failure here.
   */
  static byte[] decryptUnder(PKCS11Token token, long key, byte[] nonceCiphertextTag, byte[] aad)
      throws TokenException {
    AesGcmLayout.requireDecryptable(nonceCiphertextTag);
    byte[] nonce = Arrays.copyOf(nonceCiphertextTag, AesGcmLayout.NONCE_BYTES);
    byte[] sealed = Arrays.copyOfRange(nonceCiphertextTag, AesGcmLayout.NONCE_BYTES, nonceCiphertextTag.length);
    byte[] plaintext;
    try {
      plaintext = token.decrypt(gcm(nonce, aad), key, sealed);
    } catch (TokenException e) {
      if (Pkcs11Failures.hasCode(e, CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE, CKR_GENERAL_ERROR)) {
        throw AesGcmLayout.authenticationFailure(null);
      }
      throw e;
    }
    if (plaintext.length != sealed.length - AesGcmLayout.TAG_BYTES) {
      Arrays.fill(plaintext, (byte) 0);
      throw AesGcmLayout.authenticationFailure(null);
    }
    return plaintext;
  }

  private static Mechanism gcm(byte[] nonce, byte[] aad) {
    byte[] associated = AesGcmLayout.aad(aad);
    // No AAD goes as a null pointer, which every module takes; some reject a zero-length buffer.
    return new Mechanism(CKM_AES_GCM,
        new GCM_PARAMS(nonce, associated.length == 0 ? null : associated, AesGcmLayout.TAG_BITS));
  }

  /**
   * The wrapper (ipkcs11wrapper 1.0.9) drops a failing C_EncryptInit/C_DecryptInit other than CKR_USER_NOT_LOGGED_IN,
   * so a key destroyed under us shows up as CKR_OPERATION_NOT_INITIALIZED from the next call: the token is asked
   * whether it still holds the key before that is called a missing key.
   */
  private KeywardenException failure(String doing, TokenException e) {
    if (Pkcs11Failures.hasCode(e, CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID, CKR_OPERATION_NOT_INITIALIZED)
        && !hsm.holds(id, handle)) {
      return hsm.noLongerHolds(id);
    }
    return Pkcs11Failures.unavailable(doing + " key '" + id.label() + "'", e);
  }
}
