package dev.keywarden.unseal;

import static dev.keywarden.testing.Generators.bytes;
import static dev.keywarden.testing.Generators.unicodeStrings;
import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.keywarden.hsm.KekIdentity;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** The envelope opens only with its key, and every stored byte is authenticated. */
class SealEnvelopeCodecTest {
  private static final SecureRandom RANDOM = new SecureRandom();

  @Test
  void roundTripsAndTheHeaderIsReadableWithoutTheKey() {
    qt().withExamples(200)
        .forAll(bytes(32), unicodeStrings(1, 64), integers().between(1, 255))
        .checkAssert((key, pin, shares) -> {
          SealHeader header = new SealHeader(RANDOM.nextInt(), shares, Math.max(1, shares / 2), "keywarden-kek-1");
          byte[] stored = SealEnvelopeCodec.seal(header,
              new SealEnvelope(new KekIdentity("kek", "0a0b"), pin.toCharArray()), key, RANDOM);
          assertEquals(header, SealEnvelopeCodec.header(stored));
          SealEnvelope opened = SealEnvelopeCodec.open(stored, key);
          assertEquals(pin, new String(opened.pin()));
          assertEquals("kek", opened.kek().label());
          assertFalse(opened.toString().contains(pin.length() > 3 ? pin : "\u0000"));
        });
  }

  @Test
  void anyFlippedBitOrWrongKeyIsRefused() {
    qt().withExamples(300)
        .forAll(bytes(32), integers().between(0, 10_000))
        .checkAssert((key, at) -> {
          SealHeader header = new SealHeader(7, 5, 3, "keywarden-kek-7");
          byte[] stored = SealEnvelopeCodec.seal(header,
              new SealEnvelope(new KekIdentity("k", "01"), "1234".toCharArray()), key, RANDOM);
          byte[] altered = stored.clone();
          int i = at % altered.length;
          altered[i] ^= 0x01;
          assertThrows(RuntimeException.class, () -> SealEnvelopeCodec.open(altered, key));
          byte[] other = key.clone();
          other[0] ^= 0x01;
          assertThrows(SealEnvelopeCodec.WrongUnsealKeyException.class, () -> SealEnvelopeCodec.open(stored, other));
        });
  }
}
