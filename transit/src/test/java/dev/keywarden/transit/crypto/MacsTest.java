package dev.keywarden.transit.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class MacsTest {

  private static final byte[] JEFE = "Jefe".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] QUESTION = "what do ya want for nothing?".getBytes(StandardCharsets.US_ASCII);

  @ParameterizedTest
  @CsvSource({
      "sha2-256, 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      "sha2-384, af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
      "sha2-512, 164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
  })
  void rfc4231TestCase2(String hashName, String expectedHex) {
    HashAlgorithm hash = HashAlgorithm.parse(hashName);
    byte[] expected = HexFormat.of().parseHex(expectedHex);
    assertEquals(expectedHex, HexFormat.of().formatHex(Macs.hmac(JEFE, hash, QUESTION)));
    assertTrue(Macs.verify(JEFE, hash, QUESTION, expected));
  }

  @Test
  void verifyRefusesChangedTruncatedOrExtendedMacs() {
    byte[] mac = Macs.hmac(JEFE, HashAlgorithm.SHA2_256, QUESTION);
    for (int i = 0; i < mac.length; i++) {
      byte[] changed = mac.clone();
      changed[i] ^= 0x01;
      assertFalse(Macs.verify(JEFE, HashAlgorithm.SHA2_256, QUESTION, changed));
    }
    assertFalse(Macs.verify(JEFE, HashAlgorithm.SHA2_256, QUESTION, Arrays.copyOf(mac, 16)));
    assertFalse(Macs.verify(JEFE, HashAlgorithm.SHA2_256, QUESTION, Arrays.copyOf(mac, 33)));
    assertFalse(Macs.verify(JEFE, HashAlgorithm.SHA2_256, QUESTION, new byte[0]));
    assertFalse(Macs.verify(JEFE, HashAlgorithm.SHA2_384, QUESTION, mac));
  }

  @Test
  void emptyKeyIsRefused() {
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class,
        () -> Macs.hmac(new byte[0], HashAlgorithm.SHA2_256, QUESTION)).kind());
  }
}
