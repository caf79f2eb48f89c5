package dev.keywarden.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_ALWAYS_SENSITIVE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_DECRYPT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_DERIVE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_ENCRYPT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_EXTRACTABLE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_NEVER_EXTRACTABLE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_PRIVATE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_SENSITIVE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_SIGN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_TOKEN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_UNWRAP;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_VALUE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_VALUE_LEN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_VERIFY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_WRAP;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_AES;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_SECRET_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_ATTRIBUTE_SENSITIVE;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.AesGcmLayout;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.hsm.testing.SoftHsmToken;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.Session;

class Pkcs11AeadTest {

  @Test
  void generatedAesKeyIsSensitiveNeverExtractableAndOnlyEncryptsAndDecrypts() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin())) {
      HsmKeyId id = hsm.generateAesKey("attributes");
      assertEquals(32, id.idHex().length(), "16-byte CKA_ID");
      // A session of our own, outside the provider's pool.
      Session session = hsm.token().getToken().openSession(false);
      try {
        session.findObjectsInit(new AttributeVector().class_(CKO_SECRET_KEY).label(id.label())
            .id(HexFormat.of().parseHex(id.idHex())));
        long[] found = session.findObjects(2);
        session.findObjectsFinal();
        assertEquals(1, found.length);
        AttributeVector attrs = session.getAttrValues(found[0], CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
            CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP,
            CKA_UNWRAP, CKA_SIGN, CKA_VERIFY, CKA_DERIVE, CKA_VALUE_LEN);
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_TOKEN));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_PRIVATE));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_SENSITIVE));
        assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_EXTRACTABLE));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_NEVER_EXTRACTABLE));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_ALWAYS_SENSITIVE));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_ENCRYPT));
        assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_DECRYPT));
        assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_WRAP));
        assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_UNWRAP));
        assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_SIGN));
        assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_VERIFY));
        assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_DERIVE));
        assertEquals(32, attrs.valueLen());
        try {
          assertNull(session.getAttrValues(found[0], CKA_VALUE).value(), "CKA_VALUE must not be readable");
        } catch (PKCS11Exception e) {
          assertEquals(CKR_ATTRIBUTE_SENSITIVE, e.getErrorCode());
        }
      } finally {
        session.closeSession();
      }
    }
  }

  @Test
  void blobsFromTheTokenDecryptWithTheJdkAndViceVersa() throws Exception {
    // A test-only key whose value the test knows, so the JDK's AES/GCM can use the same key.
    byte[] keyValue = new byte[32];
    new SecureRandom().nextBytes(keyValue);
    SecretKeySpec jdkKey = new SecretKeySpec(keyValue, "AES");
    SecureRandom random = new SecureRandom();
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin());
        Pkcs11Hsm.Use use = hsm.use()) {
      PKCS11Token token = hsm.token();
      long key = token.createObject(AttributeVector.newSecretKey(CKK_AES).token(false).private_(true)
          .sensitive(true).extractable(false).encrypt(true).decrypt(true).value(keyValue));
      try {
        for (int length : new int[] {0, 1, 15, 16, 17, 1024, 65536}) {
          for (byte[] aad : new byte[][] {null, {1, 2, 3}}) {
            byte[] plaintext = new byte[length];
            new Random(length).nextBytes(plaintext);
            byte[] nonce = new byte[AesGcmLayout.NONCE_BYTES];
            random.nextBytes(nonce);

            byte[] fromToken = Pkcs11Aead.encryptUnder(token, key, nonce, plaintext, aad);
            assertArrayEquals(nonce, Arrays.copyOf(fromToken, AesGcmLayout.NONCE_BYTES), "the nonce leads the blob");
            Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(Cipher.DECRYPT_MODE, jdkKey, new GCMParameterSpec(128, fromToken, 0, AesGcmLayout.NONCE_BYTES));
            if (aad != null) {
              gcm.updateAAD(aad);
            }
            assertArrayEquals(plaintext, gcm.doFinal(fromToken, AesGcmLayout.NONCE_BYTES,
                fromToken.length - AesGcmLayout.NONCE_BYTES), "length " + length);

            random.nextBytes(nonce);
            gcm = Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(Cipher.ENCRYPT_MODE, jdkKey, new GCMParameterSpec(128, nonce));
            if (aad != null) {
              gcm.updateAAD(aad);
            }
            byte[] sealed = gcm.doFinal(plaintext);
            byte[] fromJdk = new byte[nonce.length + sealed.length];
            System.arraycopy(nonce, 0, fromJdk, 0, nonce.length);
            System.arraycopy(sealed, 0, fromJdk, nonce.length, sealed.length);
            assertArrayEquals(plaintext, Pkcs11Aead.decryptUnder(token, key, fromJdk, aad), "length " + length);
          }
        }
      } finally {
        token.destroyObject(key);
      }
    }
  }

  @Test
  void keyTheTokenNeverHeldIsFailedPreconditionAndCannotBeDestroyed() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Hsm hsm = softHsm.provider(2).open(softHsm.pin())) {
      HsmKeyId ghost = new HsmKeyId("ghost", "00112233445566778899aabbccddeeff");
      KeywardenException e = assertThrows(KeywardenException.class, () -> hsm.aesKey(ghost));
      assertEquals(Kind.FAILED_PRECONDITION, e.kind());
      assertTrue(e.getMessage().contains("no longer holds key 'ghost' (id 00112233445566778899aabbccddeeff)"),
          e.getMessage());
      assertEquals(Kind.NOT_FOUND, assertThrows(KeywardenException.class, () -> hsm.destroyKey(ghost)).kind());
    }
  }

  @Test
  void aKekCannotBeReachedOrDestroyedAsAnAesKey() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Hsm hsm = softHsm.provider(2).open(softHsm.pin())) {
      KekIdentity kekId = hsm.generateKek("the-kek");
      HsmKeyId sameName = new HsmKeyId(kekId.label(), kekId.idHex());
      assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.aesKey(sameName)).kind());
      assertEquals(Kind.NOT_FOUND, assertThrows(KeywardenException.class, () -> hsm.destroyKey(sameName)).kind());
      KeyEncryptionKey kek = hsm.kek(kekId);
      byte[] material = {1, 2, 3, 4, 5, 6, 7, 8};
      assertArrayEquals(material, kek.unwrap(kek.wrap(material)));
    }
  }

  @Test
  void aKeyDestroyedByAnotherSessionIsFailedPrecondition() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin())) {
      HsmKeyId id = hsm.generateAesKey("destroyed-elsewhere");
      var aead = hsm.aesKey(id);
      byte[] blob = aead.encrypt(new byte[] {1, 2, 3}, null);
      // Deleted behind our back, as an operator with pkcs11-tool would.
      Session session = hsm.token().getToken().openSession(true);
      try {
        session.findObjectsInit(new AttributeVector().class_(CKO_SECRET_KEY).label(id.label()));
        long[] found = session.findObjects(2);
        session.findObjectsFinal();
        session.destroyObject(found[0]);
      } finally {
        session.closeSession();
      }
      assertEquals(Kind.FAILED_PRECONDITION,
          assertThrows(KeywardenException.class, () -> aead.encrypt(new byte[] {4}, null)).kind());
      assertEquals(Kind.FAILED_PRECONDITION,
          assertThrows(KeywardenException.class, () -> aead.decrypt(blob, null)).kind());
    }
  }
}
