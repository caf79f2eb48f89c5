package dev.keywarden.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_AES;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.hsm.testing.WycheproofGcmVectors;
import dev.keywarden.hsm.testing.WycheproofGcmVectors.Vector;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.PKCS11Token;

/**
 * Runs the Wycheproof AES-GCM vectors through the decrypt routine {@link Pkcs11Aead} uses, with each vector's key
 * imported as a session AES key. Only groups with a 96-bit IV and a 128-bit tag are the layout an HsmAead reads;
 * the others are counted and skipped.
 */
class Pkcs11AeadWycheproofTest {

  @Test
  void everyValidVectorDecryptsAndEveryInvalidOneIsRefused() throws Exception {
    List<Vector> vectors = WycheproofGcmVectors.load();
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin());
        Pkcs11Hsm.Use use = hsm.use()) {
      PKCS11Token token = hsm.token();
      int accepted = 0;
      int refused = 0;
      int skipped = 0;
      for (Vector v : vectors) {
        if (!v.hsmAeadLayout()) {
          skipped++;
          continue;
        }
        long key = token.createObject(AttributeVector.newSecretKey(CKK_AES).token(false).private_(true)
            .sensitive(true).extractable(false).encrypt(true).decrypt(true).value(v.key()));
        try {
          if (v.valid()) {
            assertArrayEquals(v.msg(), Pkcs11Aead.decryptUnder(token, key, v.blob(), v.aad()), v.toString());
            // Our nonce is random, but given the vector's nonce the token must produce the vector's output.
            assertArrayEquals(v.blob(), Pkcs11Aead.encryptUnder(token, key, v.iv(), v.msg(), v.aad()), v.toString());
            accepted++;
          } else {
            assertEquals("invalid", v.result(), v.toString());
            KeywardenException e = assertThrows(KeywardenException.class,
                () -> Pkcs11Aead.decryptUnder(token, key, v.blob(), v.aad()), v.toString());
            assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind(), v + ": " + e.getMessage());
            refused++;
          }
        } finally {
          token.destroyObject(key);
        }
      }
      System.out.printf("Wycheproof AES-GCM through PKCS#11: %d accepted, %d refused, %d skipped (not 96-bit IV / "
          + "128-bit tag)%n", accepted, refused, skipped);
      assertEquals(vectors.size(), accepted + refused + skipped);
      assertEquals(197, accepted + refused, "vectors with a 96-bit IV and a 128-bit tag");
      assertTrue(accepted > 50, "accepted " + accepted);
      assertTrue(refused > 50, "refused " + refused);
    }
  }
}
