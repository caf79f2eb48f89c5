package dev.keywarden.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_VALUE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_AES;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_GENERIC_SECRET;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_KEY_WRAP_PAD;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_ENCRYPTED_DATA_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_GENERAL_ERROR;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_ENCRYPTED_DATA_LEN_RANGE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_WRAPPED_KEY_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_WRAPPED_KEY_LEN_RANGE;

import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.hsm.KeyMaterialBounds;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.TokenException;

/**
 * A KEK held by a PKCS#11 token: wraps with CKM_AES_KEY_WRAP_PAD (RFC 5649) inside the token.
 *
 * <p>PKCS#11 wraps keys, not bytes, so the material becomes a short-lived session object (CKK_GENERIC_SECRET, not a
 * token object) that is wrapped and destroyed; unwrapping makes such an object and reads its value back.
 */
final class Pkcs11Kek implements KeyEncryptionKey {

  private static final Logger LOG = LoggerFactory.getLogger(Pkcs11Kek.class);

  private final Pkcs11Hsm hsm;
  private final KekIdentity identity;
  private final KeyHandle handle;

  Pkcs11Kek(Pkcs11Hsm hsm, KekIdentity identity, KeyHandle handle) {
    this.hsm = hsm;
    this.identity = identity;
    this.handle = handle;
  }

  @Override
  public byte[] wrap(byte[] keyMaterial) {
    KeyMaterialBounds.requireWrappable(keyMaterial);
    // Idempotent: the temporary object of a failed attempt died with its session.
    return hsm.call("wrapping under KEK '" + identity.label() + "'", (token, generation) ->
        wrapUnder(token, handle.get(token, generation), keyMaterial, hsm.paddingDefect()));
  }

  @Override
  public byte[] unwrap(byte[] wrapped) {
    KeyMaterialBounds.requireUnwrappable(wrapped);
    return hsm.call("unwrapping under KEK '" + identity.label() + "'", (token, generation) ->
        unwrapUnder(token, handle.get(token, generation), wrapped, hsm.paddingDefect()));
  }

  @Override
  public KekIdentity identity() {
    return identity;
  }

  @Override
  public String toString() {
    return "Pkcs11Kek[" + identity.label() + ", id " + identity.idHex() + "]";
  }

  /**
   * RFC 5649 wrap of {@code keyMaterial} by the key {@code kek} inside the token; framed first when the module has
   * the padding defect (see {@link PaddingDefectFraming}).
   */
  static byte[] wrapUnder(PKCS11Token token, long kek, byte[] keyMaterial, boolean paddingDefect)
      throws TokenException {
    byte[] input = paddingDefect ? PaddingDefectFraming.frame(keyMaterial) : keyMaterial;
    try {
      long material = token.createObject(temporaryKey().value(input));
      try {
        return token.wrapKey(new Mechanism(CKM_AES_KEY_WRAP_PAD), kek, material);
      } finally {
        destroyQuietly(token, material);
      }
    } finally {
      if (input != keyMaterial) {
        Arrays.fill(input, (byte) 0);
      }
    }
  }

  /**
   * Unwraps an RFC 5649 blob with the key {@code kek} inside the token and returns the plaintext, which the caller
   * zeroizes. Throws the integrity failure for a blob that does not unwrap under this key. SoftHSM2 reports a failed
   * integrity check as CKR_GENERAL_ERROR, so that code counts as an integrity failure here, unless the token has
   * stopped answering.
   */
  static byte[] unwrapUnder(PKCS11Token token, long kek, byte[] wrapped, boolean paddingDefect)
      throws TokenException {
    KeyMaterialBounds.requireUnwrappable(wrapped);
    long material;
    try {
      material = token.unwrapKey(new Mechanism(CKM_AES_KEY_WRAP_PAD), kek, wrapped, temporaryKey());
    } catch (TokenException e) {
      if (Pkcs11Failures.hasCode(e, CKR_WRAPPED_KEY_INVALID, CKR_WRAPPED_KEY_LEN_RANGE,
          CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE, CKR_GENERAL_ERROR)) {
        Pkcs11Connection.requireReachable(token);
        throw KeyMaterialBounds.integrityFailure(null);
      }
      throw e;
    }
    byte[] value;
    try {
      value = token.getAttrValues(material, CKA_VALUE).value();
    } finally {
      destroyQuietly(token, material);
    }
    if (value == null || value.length == 0) {
      throw KeyMaterialBounds.integrityFailure(null);
    }
    byte[] result = paddingDefect ? PaddingDefectFraming.unframe(value) : value;
    if (result.length == 0 || result.length > KeyMaterialBounds.MAX_BYTES) {
      Arrays.fill(result, (byte) 0);
      throw KeyMaterialBounds.integrityFailure(null);
    }
    return result;
  }

  /**
   * True when the module's CKM_AES_KEY_WRAP_PAD is not RFC 5649 for a 1-byte key: it is compared with the JDK's
   * AES/KWP under a throwaway session key made for the purpose.
   */
  static boolean hasPaddingDefect(PKCS11Token token) throws TokenException {
    byte[] probeKey = new byte[32];
    new SecureRandom().nextBytes(probeKey);
    byte[] probe = {0x5a};
    long handle = token.createObject(AttributeVector.newSecretKey(CKK_AES)
        .token(false).private_(true).sensitive(true).extractable(false).wrap(true).unwrap(false)
        .encrypt(false).decrypt(false).sign(false).verify(false).derive(false).value(probeKey));
    try {
      byte[] byModule = wrapUnder(token, handle, probe, false);
      Cipher kwp = Cipher.getInstance("AES/KWP/NoPadding");
      kwp.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(probeKey, "AES"));
      return !MessageDigest.isEqual(byModule, kwp.doFinal(probe));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES/KWP/NoPadding is missing from this JDK (needs JDK 17+)", e);
    } finally {
      Arrays.fill(probeKey, (byte) 0);
      destroyQuietly(token, handle);
    }
  }

  private static AttributeVector temporaryKey() {
    return AttributeVector.newSecretKey(CKK_GENERIC_SECRET)
        .token(false).private_(true).sensitive(false).extractable(true)
        .encrypt(false).decrypt(false).sign(false).verify(false).wrap(false).unwrap(false).derive(false);
  }

  private static void destroyQuietly(PKCS11Token token, long object) {
    try {
      token.destroyObject(object);
    } catch (TokenException e) {
      // A session object also dies with its session; nothing more to do than say so.
      LOG.warn("could not destroy temporary key object: {}", Pkcs11Failures.returnCode(e) == null
          ? e.getClass().getSimpleName() : Pkcs11Failures.name(Pkcs11Failures.returnCode(e)));
    }
  }

}
