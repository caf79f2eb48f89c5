package dev.keywarden.hsm.pkcs11;

import java.util.Arrays;

/**
 * Keeps the true length of key material across a PKCS#11 module whose CKM_AES_KEY_WRAP_PAD is not RFC 5649 for
 * lengths that are not a multiple of 8. SoftHSM2 2.6.1 zero-pads the key to a multiple of 8 before wrapping (so the
 * RFC 5649 length field names the padded length) and returns the padding on unwrap: the true length never survives.
 *
 * <p>With such a module the material is framed with ISO/IEC 7816-4 padding (0x80 then zeros, to a multiple of 8)
 * when its length is not a multiple of 8, or when it already ends like such a frame. Every other input (in practice
 * almost every AES or HMAC key) is wrapped as it is, so those blobs stay plain RFC 5649.
 */
final class PaddingDefectFraming {

  private static final byte MARK = (byte) 0x80;

  private PaddingDefectFraming() {}

  /** The material as the module should see it; a new array when framed (the caller zeroizes it), else the input. */
  static byte[] frame(byte[] material) {
    if (material.length % 8 == 0 && frameStart(material) < 0) {
      return material;
    }
    byte[] framed = Arrays.copyOf(material, (material.length / 8 + 1) * 8);
    framed[material.length] = MARK;
    return framed;
  }

  /** The material without its frame; the input itself when it carries none. Zeroizes the input when it copies. */
  static byte[] unframe(byte[] value) {
    int start = frameStart(value);
    if (start < 0) {
      return value;
    }
    byte[] material = Arrays.copyOf(value, start);
    Arrays.fill(value, (byte) 0);
    return material;
  }

  /** Index of a trailing 0x80 followed only by zeros within the last 8 bytes, or -1. */
  private static int frameStart(byte[] value) {
    for (int i = value.length - 1; i >= 0 && i >= value.length - 8; i--) {
      if (value[i] == MARK) {
        return i;
      }
      if (value[i] != 0) {
        return -1;
      }
    }
    return -1;
  }
}
