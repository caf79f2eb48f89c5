package dev.keywarden.hsm.software;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.testing.WycheproofKwpVectors;
import dev.keywarden.hsm.testing.WycheproofKwpVectors.Vector;
import java.util.List;
import org.junit.jupiter.api.Test;

class SoftwareKekWycheproofTest {

  @Test
  void everyValidVectorRoundTripsAndEveryInvalidOneIsRejected() throws Exception {
    List<Vector> vectors = WycheproofKwpVectors.load();
    int valid = 0;
    int invalid = 0;
    for (Vector v : vectors) {
      if (v.valid()) {
        assertArrayEquals(v.msg(), SoftwareKek.unwrapWithKey(v.key(), v.ct()), v.toString());
        assertArrayEquals(v.ct(), SoftwareKek.wrapWithKey(v.key(), v.msg()), v.toString());
        valid++;
      } else {
        assertEquals("invalid", v.result(), v.toString());
        assertThrows(KeywardenException.class, () -> SoftwareKek.unwrapWithKey(v.key(), v.ct()), v.toString());
        invalid++;
      }
    }
    assertTrue(valid > 50 && invalid > 100, "valid " + valid + ", invalid " + invalid);
  }
}
