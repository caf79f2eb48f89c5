package dev.keywarden.unseal;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KekIdentity;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The seal envelope's stored form: a clear header (magic, format, share set, N, K, nonce) authenticated as associated
 * data, then the envelope encrypted with AES-256-GCM under the unseal key.
 */
public final class SealEnvelopeCodec {
  private static final int MAGIC = 0x4b575345; // "KWSE"
  private static final byte FORMAT = 1;
  private static final int NONCE_BYTES = 12;
  private static final int FIXED_HEADER_BYTES = 4 + 1 + 4 + 1 + 1 + 2;
  private static final int TAG_BITS = 128;

  private SealEnvelopeCodec() {}

  /** Encrypts {@code envelope} under {@code unsealKey} (32 bytes) with a fresh nonce. */
  public static byte[] seal(SealHeader header, SealEnvelope envelope, byte[] unsealKey, SecureRandom random) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    byte[] label = utf8(header.kekLabel());
    ByteBuffer head = ByteBuffer.allocate(FIXED_HEADER_BYTES + label.length + NONCE_BYTES);
    head.putInt(MAGIC).put(FORMAT).putInt(header.shareSetId())
        .put((byte) header.shares()).put((byte) header.threshold())
        .putShort((short) label.length).put(label).put(nonce);
    byte[] plain = encodeBody(envelope);
    try {
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(unsealKey, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
      gcm.updateAAD(head.array());
      byte[] sealed = gcm.doFinal(plain);
      return ByteBuffer.allocate(head.capacity() + sealed.length).put(head.array()).put(sealed).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    } finally {
      Arrays.fill(plain, (byte) 0);
    }
  }

  /** Reads the clear header; INVALID if the stored bytes are not a seal envelope. */
  public static SealHeader header(byte[] stored) {
    return parseHeader(stored).header;
  }

  private record Parsed(SealHeader header, int headerBytes) {}

  private static Parsed parseHeader(byte[] stored) {
    try {
      ByteBuffer in = ByteBuffer.wrap(stored);
      if (in.getInt() != MAGIC || in.get() != FORMAT) {
        throw KeywardenException.precondition("the stored seal envelope is not in a format this server reads");
      }
      int setId = in.getInt();
      int shares = Byte.toUnsignedInt(in.get());
      int threshold = Byte.toUnsignedInt(in.get());
      String label = readUtf(in);
      int headerBytes = in.position() + NONCE_BYTES;
      if (stored.length < headerBytes + TAG_BITS / 8) {
        throw KeywardenException.precondition("the stored seal envelope is damaged (too short)");
      }
      return new Parsed(new SealHeader(setId, shares, threshold, label), headerBytes);
    } catch (java.nio.BufferUnderflowException e) {
      throw KeywardenException.precondition("the stored seal envelope is damaged (too short)");
    }
  }

  /**
   * Decrypts the envelope. Returns empty-handed with {@link WrongUnsealKeyException} when {@code unsealKey} is not the
   * key it was sealed under (or the stored bytes were altered).
   */
  public static SealEnvelope open(byte[] stored, byte[] unsealKey) {
    int headerBytes = parseHeader(stored).headerBytes;
    byte[] plain = null;
    try {
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(Cipher.DECRYPT_MODE, new SecretKeySpec(unsealKey, "AES"),
          new GCMParameterSpec(TAG_BITS, stored, headerBytes - NONCE_BYTES, NONCE_BYTES));
      gcm.updateAAD(stored, 0, headerBytes);
      plain = gcm.doFinal(stored, headerBytes, stored.length - headerBytes);
      return decodeBody(plain);
    } catch (AEADBadTagException e) {
      throw new WrongUnsealKeyException();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    } finally {
      if (plain != null) {
        Arrays.fill(plain, (byte) 0);
      }
    }
  }

  private static byte[] encodeBody(SealEnvelope envelope) {
    ByteBuffer pinBuf = StandardCharsets.UTF_8.encode(CharBuffer.wrap(envelope.pin()));
    byte[] pin = new byte[pinBuf.remaining()];
    pinBuf.get(pin);
    Arrays.fill(pinBuf.array(), (byte) 0);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(1);
      // Plain UTF-8 behind a 2-byte length, as readUtf reads it. (DataOutputStream.writeUTF wrote Java's modified
      // UTF-8, which differs for U+0000 and characters outside the BMP: such a label did not come back the same.
      // For every other label the bytes are the same, so envelopes written before read as they did.)
      writeUtf(out, envelope.kek().label());
      writeUtf(out, envelope.kek().idHex());
      out.writeInt(pin.length);
      out.write(pin);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } finally {
      Arrays.fill(pin, (byte) 0);
    }
    return bytes.toByteArray();
  }

  private static void writeUtf(DataOutputStream out, String text) throws IOException {
    byte[] utf8 = utf8(text);
    out.writeShort(utf8.length);
    out.write(utf8);
  }

  /** UTF-8 of a label, which the stored form gives at most 65535 bytes. */
  private static byte[] utf8(String text) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    if (utf8.length > 0xffff) {
      throw KeywardenException.invalid("a KEK label or id is " + utf8.length + " bytes of UTF-8; the limit is 65535");
    }
    return utf8;
  }

  /**
   * The envelope's contents. They authenticated under the unseal key, so only a bug or a writer of another format
   * could damage them: refused as FAILED_PRECONDITION, never a buffer exception.
   */
  private static SealEnvelope decodeBody(byte[] plain) {
    try {
      ByteBuffer in = ByteBuffer.wrap(plain);
      if (in.get() != 1) {
        throw KeywardenException.precondition("the seal envelope's contents are in an unknown format");
      }
      String label = readUtf(in);
      String id = readUtf(in);
      int pinLength = in.getInt();
      if (pinLength < 0 || pinLength != in.remaining()) {
        throw KeywardenException.precondition("the seal envelope's contents are damaged (the PIN's length)");
      }
      ByteBuffer pinBytes = in.slice(in.position(), pinLength);
      CharBuffer pinChars = StandardCharsets.UTF_8.decode(pinBytes);
      char[] pin = new char[pinChars.remaining()];
      pinChars.get(pin);
      Arrays.fill(pinChars.array(), '\0');
      return new SealEnvelope(new KekIdentity(label, id), pin);
    } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
      // too short, or a KEK label or id KekIdentity refuses
      throw KeywardenException.precondition("the seal envelope's contents are damaged");
    }
  }

  private static String readUtf(ByteBuffer in) {
    int length = Short.toUnsignedInt(in.getShort());
    byte[] raw = new byte[length];
    in.get(raw);
    return new String(raw, StandardCharsets.UTF_8);
  }

  /** The key given does not open this envelope. */
  public static final class WrongUnsealKeyException extends RuntimeException {
    WrongUnsealKeyException() {
      super("the unseal key does not open the seal envelope", null, false, false);
    }
  }
}
