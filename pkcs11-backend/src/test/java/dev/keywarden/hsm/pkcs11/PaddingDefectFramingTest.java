package dev.keywarden.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PaddingDefectFramingTest {

  @Test
  void multipleOf8ThatDoesNotEndLikeAFrameIsLeftAlone() {
    byte[] key = new byte[32];
    key[31] = 1;
    assertSame(key, PaddingDefectFraming.frame(key));
    assertArrayEquals(key, PaddingDefectFraming.unframe(key.clone()));
  }

  @Test
  void framedLengthIsAMultipleOf8AndUnframingRestoresEveryInput() {
    Random random = new Random(7);
    for (int length = 1; length <= 80; length++) {
      for (int tail : new int[] {0x00, 0x80, 0x01, -1}) {
        byte[] material = new byte[length];
        random.nextBytes(material);
        if (tail >= 0) {
          material[length - 1] = (byte) tail;
        }
        byte[] framed = PaddingDefectFraming.frame(material.clone());
        assertEquals(0, framed.length % 8, "length " + length);
        // What the defective module returns: the framed value, zero-padded (already a multiple of 8).
        assertArrayEquals(material, PaddingDefectFraming.unframe(framed), "length " + length + " tail " + tail);
      }
    }
  }
}
