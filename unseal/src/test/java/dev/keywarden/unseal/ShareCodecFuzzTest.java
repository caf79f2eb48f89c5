package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * What an operator types as a share is untrusted text. Whatever it is, decoding gives a share that encodes back to
 * itself, or refuses with KeywardenException; and any share encodes to text that decodes to it, in any case and with
 * spaces. Seeds: {@code src/test/resources/dev/keywarden/unseal/ShareCodecFuzzTestInputs/<method>/}.
 */
class ShareCodecFuzzTest {

  @FuzzTest
  void decodeRefusesOrRoundTrips(byte[] typed) {
    UnsealShare share;
    try {
      share = ShareCodec.decode(new String(typed, StandardCharsets.UTF_8));
    } catch (KeywardenException refused) {
      return;
    }
    assertEquals(share, ShareCodec.decode(ShareCodec.encode(share)));
  }

  @FuzzTest
  void encodeThenDecodeGivesBackTheShare(byte[] input) {
    if (input.length < 6 + UnsealKeySplitter.KEY_BYTES) {
      return;
    }
    ByteBuffer in = ByteBuffer.wrap(input);
    int setId = in.getInt();
    int index = Math.max(1, in.get() & 0xff);
    int threshold = Math.max(1, in.get() & 0xff);
    byte[] value = Arrays.copyOfRange(input, 6, 6 + UnsealKeySplitter.KEY_BYTES);
    UnsealShare share = new UnsealShare(setId, index, threshold, value);
    String text = ShareCodec.encode(share);
    assertEquals(share, ShareCodec.decode(text));
    assertEquals(share, ShareCodec.decode(" " + text.toLowerCase(Locale.ROOT).replaceAll("(.{4})", "$1 ") + "\n"));
  }
}
