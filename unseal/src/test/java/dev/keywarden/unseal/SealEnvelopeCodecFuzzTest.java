package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KekIdentity;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * The stored seal envelope is read back at every start and unseal. Whatever the stored bytes, the header and open
 * give a value or refuse (KeywardenException, or WrongUnsealKeyException for a key that does not open it); contents
 * that do authenticate but are damaged are refused the same way; and seal then open gives back header and
 * envelope. Seeds: {@code src/test/resources/dev/keywarden/unseal/SealEnvelopeCodecFuzzTestInputs/<method>/}.
 */
class SealEnvelopeCodecFuzzTest {
  private static final byte[] KEY = new byte[32];
  private static final SecureRandom RANDOM = new SecureRandom();

  @FuzzTest
  void storedBytesOpenOrAreRefused(byte[] stored) {
    try {
      SealEnvelopeCodec.header(stored);
      SealEnvelopeCodec.open(stored, KEY);
    } catch (KeywardenException | SealEnvelopeCodec.WrongUnsealKeyException refused) {
      // refused
    }
  }

  /** Contents sealed under the right key but not made by encodeBody: a bug or an older writer, never a crash. */
  @FuzzTest
  void authenticButDamagedContentsAreRefused(byte[] contents) throws Exception {
    byte[] label = "kek".getBytes(StandardCharsets.UTF_8);
    byte[] nonce = new byte[12];
    ByteBuffer head = ByteBuffer.allocate(13 + label.length + nonce.length);
    head.putInt(0x4b575345).put((byte) 1).putInt(7).put((byte) 3).put((byte) 2).putShort((short) label.length)
        .put(label).put(nonce);
    Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
    gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY, "AES"), new GCMParameterSpec(128, nonce));
    gcm.updateAAD(head.array());
    byte[] sealed = gcm.doFinal(contents);
    byte[] stored = ByteBuffer.allocate(head.capacity() + sealed.length).put(head.array()).put(sealed).array();
    try {
      SealEnvelope opened = SealEnvelopeCodec.open(stored, KEY);
      opened.destroy();
    } catch (KeywardenException refused) {
      // refused
    }
  }

  @FuzzTest
  void sealThenOpenGivesBackHeaderAndEnvelope(FuzzedDataProvider data) {
    int shares = data.consumeInt(1, 255);
    SealHeader header = new SealHeader(data.consumeInt(), shares, data.consumeInt(1, shares), wellFormed(data, 200));
    String kekLabel = wellFormed(data, 200);
    String pin = wellFormed(data, 200);
    byte[] id = data.consumeBytes(64);
    if (header.kekLabel().isEmpty() || kekLabel.isBlank() || id.length == 0) {
      return;
    }
    KekIdentity kek = new KekIdentity(kekLabel, HexFormat.of().formatHex(id));
    byte[] key = Arrays.copyOf(data.consumeRemainingAsBytes(), 32);
    byte[] stored = SealEnvelopeCodec.seal(header, new SealEnvelope(kek, pin.toCharArray()), key, RANDOM);
    assertEquals(header, SealEnvelopeCodec.header(stored));
    SealEnvelope opened = SealEnvelopeCodec.open(stored, key);
    assertEquals(kek, opened.kek());
    assertArrayEquals(pin.toCharArray(), opened.pin());
  }

  /** Was: writeUTF's modified UTF-8 on the way in, UTF-8 on the way out; these labels came back changed. */
  @Test
  void labelsWithNulOrOutsideTheBmpComeBackTheSame() {
    for (String label : new String[] {"kek\u0000one", "kek-\ud83d\udd11", "k\u00e9k"}) {
      SealHeader header = new SealHeader(1, 1, 1, label);
      KekIdentity kek = new KekIdentity(label, "0a");
      byte[] stored = SealEnvelopeCodec.seal(header, new SealEnvelope(kek, "pin".toCharArray()), KEY, RANDOM);
      assertEquals(header, SealEnvelopeCodec.header(stored));
      assertEquals(kek, SealEnvelopeCodec.open(stored, KEY).kek());
    }
  }

  /** A string that UTF-8 can carry (no lone surrogates, which no label or PIN typed on a keyboard holds). */
  private static String wellFormed(FuzzedDataProvider data, int max) {
    String s = data.consumeString(max);
    return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
  }
}
