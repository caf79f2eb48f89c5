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

  private static byte[] head(ChainState chain) {
    return ("{\"seq\":" + (chain.seq() + 1) + ",\"prev\":\"" + chain.hashHex() + "\",").getBytes(UTF_8);
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
