package dev.keywarden.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_AES;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.hsm.testing.WycheproofKwpVectors;
import dev.keywarden.hsm.testing.WycheproofKwpVectors.Vector;
import java.security.SecureRandom;
import java.util.List;
import java.util.Random;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.PKCS11Token;

/**
 * Runs the Wycheproof AES-KWP vectors through the unwrap and wrap routines {@link Pkcs11Kek} uses, with each vector's
 * key imported as a session AES key. On a module with the padding defect (SoftHSM2 2.6.1), valid vectors whose
 * message length is not a multiple of 8 cannot round-trip (the module loses the length); they are counted, and the
 * test asserts that only those are excused.
 */
class Pkcs11KekWycheproofTest {

  @Test
  void everyValidVectorRoundTripsAndEveryInvalidOneIsRejected() throws Exception {
    List<Vector> vectors = WycheproofKwpVectors.load();
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin());
        Pkcs11Hsm.Use use = hsm.use()) {
      PKCS11Token token = hsm.token();
      boolean defect = hsm.paddingDefect();
      int roundTripped = 0;
      int rejected = 0;
      int excused = 0;
      for (Vector v : vectors) {
        long key = token.createObject(AttributeVector.newSecretKey(CKK_AES).token(false).private_(true)
            .sensitive(true).extractable(false).wrap(true).unwrap(true).value(v.key()));
        try {
          if (!v.valid()) {
            assertEquals("invalid", v.result(), v.toString());
            assertThrows(KeywardenException.class, () -> Pkcs11Kek.unwrapUnder(token, key, v.ct(), defect),
                v.toString());
            rejected++;
          } else if (defect && PaddingDefectFraming.frame(v.msg()) != v.msg()) {
            excused++;
          } else {
            assertArrayEquals(v.msg(), Pkcs11Kek.unwrapUnder(token, key, v.ct(), defect), v.toString());
            assertArrayEquals(v.ct(), Pkcs11Kek.wrapUnder(token, key, v.msg(), defect), v.toString());
            roundTripped++;
          }
        } finally {
          token.destroyObject(key);
        }
      }
      assertTrue(rejected > 100, "rejected " + rejected);
      assertTrue(roundTripped > 20, "round-tripped " + roundTripped);
      assertEquals(vectors.size(), rejected + roundTripped + excused);
      if (!defect) {
        assertEquals(0, excused);
      }
    }
  }

  @Test
  void blobsWrappedInTheTokenUnwrapWithTheJdkAndViceVersa() throws Exception {
    // A test-only KEK whose value the test knows, so the JDK's AES/KWP can use the same key.
    byte[] kekValue = new byte[32];
    new SecureRandom().nextBytes(kekValue);
    SecretKeySpec jdkKey = new SecretKeySpec(kekValue, "AES");
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin());
        Pkcs11Hsm.Use use = hsm.use()) {
      PKCS11Token token = hsm.token();
      long key = token.createObject(AttributeVector.newSecretKey(CKK_AES).token(false).private_(true)
          .sensitive(true).extractable(false).wrap(true).unwrap(true).value(kekValue));
      try {
        for (int length : new int[] {8, 16, 24, 32, 64, 4096}) {
          byte[] material = new byte[length];
          new Random(length).nextBytes(material);
          material[length - 1] = 1; // not a frame ending, so the blob is plain RFC 5649 on every module
          Cipher kwp = Cipher.getInstance("AES/KWP/NoPadding");
          kwp.init(Cipher.DECRYPT_MODE, jdkKey);
          assertArrayEquals(material, kwp.doFinal(Pkcs11Kek.wrapUnder(token, key, material, hsm.paddingDefect())));
          kwp.init(Cipher.ENCRYPT_MODE, jdkKey);
          assertArrayEquals(material, Pkcs11Kek.unwrapUnder(token, key, kwp.doFinal(material), hsm.paddingDefect()));
        }
      } finally {
        token.destroyObject(key);
      }
    }
  }
}
