package dev.keywarden.audit;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Base64;

/**
 * The chained lines of a device: each is {@code {"seq":N,"prev":"<hex>",} + body}, where prev is the SHA-256 of the
 * previous line's bytes (without its newline). A checkpoint line ends with {@code "sig":"<base64>"}, a signature over
 * {@link #CHECKPOINT_DOMAIN} and every byte of the line before {@code "sig"}, so it covers its own fields and, through
 * prev, every line before it.
 */
final class Lines {
  /** Prefixed to what a checkpoint signs, so that the audit key's signatures mean nothing elsewhere. */
  static final byte[] CHECKPOINT_DOMAIN = "keywarden-audit-checkpoint-v1\n".getBytes(UTF_8);
  static final String SIG_FIELD = "\"sig\":\"";

  private Lines() {}

  /** A line and the chain state after it. */
  record Line(byte[] bytes, ChainState next) {}

  /** The next line: {@code body} is a JSON object's members and closing brace, e.g. {@code "type":"x"}}. */
  static Line next(ChainState chain, byte[] body) {
    byte[] head = head(chain);
    byte[] line = new byte[head.length + body.length];
    System.arraycopy(head, 0, line, 0, head.length);
    System.arraycopy(body, 0, line, head.length, body.length);
    return new Line(line, new ChainState(chain.seq() + 1, sha256(line)));
  }

  /**
   * Appends the line after the one numbered {@code seq} whose SHA-256 is {@code hash}, and a newline, to {@code out};
   * then puts the new line's SHA-256 into {@code hash}. The same bytes as {@link #next}, with no array of its own:
   * a device's writer formats and hashes a whole batch in one reused buffer with one reused digest.
   */
  static void append(JsonBytes out, long seq, byte[] hash, byte[] body, MessageDigest sha256) {
    int start = out.length();
    out.raw(SEQ, 0, SEQ.length);
    out.decimal(seq + 1);
    out.raw(PREV, 0, PREV.length);
    out.hex(hash, 0, ChainState.HASH_BYTES);
    out.raw(AFTER_PREV, 0, AFTER_PREV.length);
    out.raw(body, 0, body.length);
    sha256.update(out.array(), start, out.length() - start);
    try {
      sha256.digest(hash, 0, ChainState.HASH_BYTES);
    } catch (java.security.DigestException e) {
      throw new IllegalStateException("SHA-256 gives 32 bytes", e);
    }
    out.raw((byte) '\n');
  }

  /** A SHA-256 digest for one thread to reuse. */
  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }

  /** A signed checkpoint after {@code chain}. */
  static Line checkpoint(ChainState chain, CheckpointSigner signer, Instant time, String node, String device,
      long records, boolean last, String reason) {
    byte[] members = RecordFormat.checkpointMembers(time, node, device, records, last, reason,
        Checkpoints.fingerprint(signer.publicKey()), Checkpoints.algorithm(signer.publicKey()));
    ByteArrayOutputStream signed = new ByteArrayOutputStream(256);
    signed.writeBytes(head(chain));
    signed.writeBytes(members);
    signed.write(',');
    byte[] unsigned = signed.toByteArray();
    byte[] sig = signer.sign(Checkpoints.message(unsigned, unsigned.length));
    signed.writeBytes((SIG_FIELD + Base64.getEncoder().encodeToString(sig) + "\"}").getBytes(UTF_8));
    byte[] line = signed.toByteArray();
    return new Line(line, new ChainState(chain.seq() + 1, sha256(line)));
  }

  private static final byte[] SEQ = "{\"seq\":".getBytes(UTF_8);
  private static final byte[] PREV = ",\"prev\":\"".getBytes(UTF_8);
  private static final byte[] AFTER_PREV = "\",".getBytes(UTF_8);

  private static byte[] head(ChainState chain) {
    return ("{\"seq\":" + (chain.seq() + 1) + ",\"prev\":\"" + chain.hashHex() + "\",").getBytes(UTF_8);
  }

  static byte[] sha256(byte[] bytes) {
    return sha256().digest(bytes);
  }
}
