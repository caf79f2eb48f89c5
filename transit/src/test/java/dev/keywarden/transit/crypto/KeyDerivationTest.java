package dev.keywarden.transit.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.junit.jupiter.api.Test;

class KeyDerivationTest {

  private static final HexFormat HEX = HexFormat.of();

  @Test
  void bouncyCastleHkdfMatchesRfc5869TestCase3WithoutSalt() {
    // RFC 5869 A.3: the no-salt, no-info case our derivation relies on.
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    hkdf.init(new HKDFParameters(HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), null, new byte[0]));
    byte[] okm = new byte[42];
    hkdf.generateBytes(okm, 0, okm.length);
    assertEquals("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8", HEX.formatHex(okm));
  }

  @Test
  void deriveIsHkdfSha256WithNoSaltAndTheLabelledContextAsInfo() throws Exception {
    byte[] key = HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    byte[] context = "tenant-42".getBytes(StandardCharsets.UTF_8);
    // Independent HKDF from the JDK's HMAC: extract with a zero salt of hash length, one expand block.
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(new byte[32], "HmacSHA256"));
    byte[] prk = mac.doFinal(key);
    mac.init(new SecretKeySpec(prk, "HmacSHA256"));
    mac.update("keywarden transit v1 derive".getBytes(StandardCharsets.US_ASCII));
    mac.update(context);
    mac.update((byte) 1);
    assertArrayEquals(mac.doFinal(), KeyDerivation.derive(key, context));
  }

  @Test
  void convergentNonceIsTheHmacPrefixOverLabelAadLengthAadAndPlaintext() throws Exception {
    byte[] key = new byte[32];
    byte[] plaintext = "hello".getBytes(StandardCharsets.UTF_8);
    byte[] aad = "ctx".getBytes(StandardCharsets.UTF_8);
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    mac.update("keywarden convergent v1".getBytes(StandardCharsets.US_ASCII));
    mac.update(ByteBuffer.allocate(4).putInt(aad.length).array());
    mac.update(aad);
    mac.update(plaintext);
    assertArrayEquals(Arrays.copyOf(mac.doFinal(), 12), KeyDerivation.convergentNonce(key, plaintext, aad));
  }

  @Test
  void convergentNonceSeparatesAadFromPlaintext() {
    // Without the length prefix, ("ab", "c") and ("a", "bc") would collide.
    byte[] key = new byte[32];
    assertFalse(Arrays.equals(
        KeyDerivation.convergentNonce(key, "c".getBytes(StandardCharsets.UTF_8), "ab".getBytes(StandardCharsets.UTF_8)),
        KeyDerivation.convergentNonce(key, "bc".getBytes(StandardCharsets.UTF_8), "a".getBytes(StandardCharsets.UTF_8))));
  }

  @Test
  void nullContextAndAadAreEmpty() {
    byte[] key = new byte[32];
    assertArrayEquals(KeyDerivation.derive(key, new byte[0]), KeyDerivation.derive(key, null));
    assertArrayEquals(KeyDerivation.convergentNonce(key, new byte[1], new byte[0]),
        KeyDerivation.convergentNonce(key, new byte[1], null));
  }
}
