package dev.keywarden.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_GCM;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_ENCRYPTED_DATA_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_ENCRYPTED_DATA_LEN_RANGE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_GENERAL_ERROR;

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
  private final KeyHandle handle;
  private final SecureRandom random = new SecureRandom();

  Pkcs11Aead(Pkcs11Hsm hsm, HsmKeyId id, KeyHandle handle) {
    this.hsm = hsm;
    this.id = id;
    this.handle = handle;
  }

  @Override
  public byte[] encrypt(byte[] plaintext, byte[] aad) {
    AesGcmLayout.requireEncryptable(plaintext);
    byte[] nonce = new byte[AesGcmLayout.NONCE_BYTES];
    random.nextBytes(nonce);
    // A retry reuses the nonce with the same plaintext: the same ciphertext again, never a nonce reused for new data.
    return hsm.call("encrypting with key '" + id.label() + "'",
        (token, generation) -> encryptUnder(token, handle.get(token, generation), nonce, plaintext, aad));
  }

  @Override
  public byte[] decrypt(byte[] nonceCiphertextTag, byte[] aad) {
    AesGcmLayout.requireDecryptable(nonceCiphertextTag);
    return hsm.call("decrypting with key '" + id.label() + "'",
        (token, generation) -> decryptUnder(token, handle.get(token, generation), nonceCiphertextTag, aad));
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
   * CKR_GENERAL_ERROR, so that code counts as an authentication failure here, unless the token has stopped answering.
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
        Pkcs11Connection.requireReachable(token);
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
}
