package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.hsm.KekIdentity;
import java.security.SecureRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;

/** The envelope opens only with its key, and every stored byte is authenticated. */
class SealEnvelopeCodecTest {
  private static final SecureRandom RANDOM = new SecureRandom();

  @Property(tries = 200)
  void roundTripsAndTheHeaderIsReadableWithoutTheKey(@ForAll @Size(32) byte[] key,
      @ForAll @StringLength(min = 1, max = 64) String pin, @ForAll @IntRange(min = 1, max = 255) int shares) {
    SealHeader header = new SealHeader(RANDOM.nextInt(), shares, Math.max(1, shares / 2), "keywarden-kek-1");
    byte[] stored = SealEnvelopeCodec.seal(header, new SealEnvelope(new KekIdentity("kek", "0a0b"), pin.toCharArray()),
        key, RANDOM);
    assertEquals(header, SealEnvelopeCodec.header(stored));
    SealEnvelope opened = SealEnvelopeCodec.open(stored, key);
    assertEquals(pin, new String(opened.pin()));
    assertEquals("kek", opened.kek().label());
    assertFalse(opened.toString().contains(pin.length() > 3 ? pin : "\u0000"));
  }

  @Property(tries = 300)
  void anyFlippedBitOrWrongKeyIsRefused(@ForAll @Size(32) byte[] key, @ForAll @IntRange(min = 0, max = 10_000) int at) {
    SealHeader header = new SealHeader(7, 5, 3, "keywarden-kek-7");
    byte[] stored = SealEnvelopeCodec.seal(header, new SealEnvelope(new KekIdentity("k", "01"), "1234".toCharArray()),
        key, RANDOM);
    byte[] altered = stored.clone();
    int i = at % altered.length;
    altered[i] ^= 0x01;
    assertThrows(RuntimeException.class, () -> SealEnvelopeCodec.open(altered, key));
    byte[] other = key.clone();
    other[0] ^= 0x01;
    assertThrows(SealEnvelopeCodec.WrongUnsealKeyException.class, () -> SealEnvelopeCodec.open(stored, other));
  }
}
