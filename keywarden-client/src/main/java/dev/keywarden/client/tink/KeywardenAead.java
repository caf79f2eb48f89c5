package dev.keywarden.client.tink;

import com.google.crypto.tink.Aead;
import dev.keywarden.client.KeywardenClientException;
import dev.keywarden.client.TransitClient;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;

/**
 * Tink's {@link Aead} over one transit key: encrypt and decrypt are transit Encrypt and Decrypt calls, the associated
 * data is sent as the transit context, which the server authenticates with the ciphertext (the AEAD's associated
 * data: AES-GCM or ChaCha20-Poly1305), so decryption with other associated data fails. The ciphertext is Keywarden's
 * {@code kw:v<version>:<base64>} text as US-ASCII (so UTF-8) bytes; it names the key version, so ciphertexts of
 * older versions decrypt after a rotation.
 *
 * <p>Null associated data is the same as empty. A derived key needs non-empty associated data (its per-context key);
 * Tink's {@code KmsEnvelopeAead} always wraps its data key with empty associated data, so the key it uses must not be
 * derived. Every failure is a {@link GeneralSecurityException} whose cause, for a failed call, is the
 * {@link KeywardenClientException} with the status code (PERMISSION_DENIED, UNAVAILABLE, …).
 */
final class KeywardenAead implements Aead {
  private static final byte[] NONE = new byte[0];

  private final TransitClient transit;
  private final String keyName;

  KeywardenAead(TransitClient transit, String keyName) {
    this.transit = transit;
    this.keyName = keyName;
  }

  @Override
  public byte[] encrypt(byte[] plaintext, byte[] associatedData) throws GeneralSecurityException {
    if (plaintext == null) {
      throw new GeneralSecurityException("plaintext is null");
    }
    try {
      return transit.encrypt(keyName, plaintext, ad(associatedData)).getBytes(StandardCharsets.US_ASCII);
    } catch (KeywardenClientException e) {
      throw new GeneralSecurityException("Keywarden could not encrypt with key '" + keyName + "': " + e.getMessage(), e);
    }
  }

  @Override
  public byte[] decrypt(byte[] ciphertext, byte[] associatedData) throws GeneralSecurityException {
    if (ciphertext == null) {
      throw new GeneralSecurityException("ciphertext is null");
    }
    String text;
    try {
      text = StandardCharsets.US_ASCII.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(ciphertext)).toString();
    } catch (CharacterCodingException e) {
      throw new GeneralSecurityException("not a Keywarden ciphertext (kw:v<version>:<base64>): it is not ASCII text");
    }
    try {
      return transit.decrypt(keyName, text, ad(associatedData));
    } catch (KeywardenClientException e) {
      throw new GeneralSecurityException("Keywarden could not decrypt with key '" + keyName + "': " + e.getMessage(), e);
    }
  }

  private static byte[] ad(byte[] associatedData) {
    return associatedData == null ? NONE : associatedData;
  }

  @Override
  public String toString() {
    return "KeywardenAead[" + keyName + "]";
  }
}
