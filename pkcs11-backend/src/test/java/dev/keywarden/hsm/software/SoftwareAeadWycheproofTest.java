package dev.keywarden.hsm.software;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.testing.WycheproofGcmVectors;
import dev.keywarden.hsm.testing.WycheproofGcmVectors.Vector;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Wycheproof AES-GCM vectors with a 96-bit IV and a 128-bit tag, through the software decrypt routine. */
class SoftwareAeadWycheproofTest {

  @Test
  void everyValidVectorDecryptsAndEveryInvalidOneIsRefused() throws Exception {
    List<Vector> vectors = WycheproofGcmVectors.load();
    int checked = 0;
    for (Vector v : vectors) {
      if (!v.hsmAeadLayout()) {
        continue;
      }
      if (v.valid()) {
        assertArrayEquals(v.msg(), SoftwareAead.decryptWithKey(v.key(), v.blob(), v.aad()), v.toString());
        assertArrayEquals(v.blob(), SoftwareAead.encryptWithKey(v.key(), v.iv(), v.msg(), v.aad()), v.toString());
      } else {
        KeywardenException e = assertThrows(KeywardenException.class,
            () -> SoftwareAead.decryptWithKey(v.key(), v.blob(), v.aad()), v.toString());
        assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind(), v.toString());
      }
      checked++;
    }
    assertEquals(197, checked, "vectors with a 96-bit IV and a 128-bit tag");
  }
}
