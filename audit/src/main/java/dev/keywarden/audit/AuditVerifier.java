package dev.keywarden.audit;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * Checks audit logs offline with the audit public key only: every line's sequence number and prev hash, every
 * checkpoint's signature, and the start of the chain. It names the first line that is not as written: an edited,
 * deleted, reordered or inserted line is found; a cut last line is reported as truncated. The log may be a sequence of
 * files, oldest first (rotated copies, then the live file): each file's first line must carry the chain on from the
 * last line of the file before; the first file must start the chain or start with a "continues" record.
 *
 * <p>Limits, by design: lines after the last checkpoint are covered by no signature, so whoever can write the file can
 * rewrite or cut that unsigned tail undetected (at most 10,000 records or 60 s); a log that must be complete is checked
 * with {@code requireClosed}, which reports a missing final checkpoint as truncation.
 *
 * <p>The files are untrusted input: whatever their bytes, the result is a {@link Verification}, never an exception.
 */
public final class AuditVerifier {
  /** Longer lines are reported as malformed (no record comes near it). */
  public static final int MAX_LINE_BYTES = 1 << 20;
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final byte[] ZERO_HASH = new byte[ChainState.HASH_BYTES];
  /** Every record type a device writes. */
  private static final java.util.Set<String> RECORD_TYPES = java.util.Set.of("start", "open", "continues", "resumed",
      "request", "response", "checkpoint");
  private static final byte[] SIG_TAIL = "\"}".getBytes(UTF_8);
  private static final byte[] SIG_FIELD = ("," + Lines.SIG_FIELD).getBytes(UTF_8);

  private AuditVerifier() {}

  /** Verifies one file; an open log (no final checkpoint) is intact if nothing else is wrong. */
  public static Verification verify(Path file, PublicKey key) {
    return verify(List.of(file), key, false);
  }

  /**
   * Verifies files that hold one chain, oldest first. With {@code requireClosed}, a log that does not end with a
   * final checkpoint is reported as TRUNCATED.
   */
  public static Verification verify(List<Path> files, PublicKey key, boolean requireClosed) {
    Objects.requireNonNull(key, "key");
    Run run = new Run(key);
    for (Path f : files) {
      String name = f.toString();
      try (InputStream in = Files.newInputStream(f)) {
        if (!run.file(name, in)) {
          return run.result();
        }
      } catch (IOException e) {
        run.problem = new Verification.Problem(Verification.Kind.UNREADABLE, name, run.line,
            "cannot read it: " + Device.describe(e));
        return run.result();
      }
    }
    return run.finish(requireClosed);
  }

  /** Verifies a log held in memory, named {@code name} in problems. */
  public static Verification verify(String name, byte[] log, PublicKey key, boolean requireClosed) {
    Objects.requireNonNull(key, "key");
    Run run = new Run(key);
    try {
      if (!run.file(name, new ByteArrayInputStream(log))) {
        return run.result();
      }
    } catch (IOException e) {
      throw new IllegalStateException("reading memory failed", e);
    }
    return run.finish(requireClosed);
  }

  /** One verification: the chain state carried from line to line and file to file. */
  private static final class Run {
    final PublicKey key;
    final String fingerprint;
    byte[] prevHash;
    long prevSeq;
    boolean started;
    String file = "";
    long line;
    long lastLineInFile;
    String previousFile = "";
    long previousFileLastLine;
    long records;
    long checkpoints;
    long firstSeq;
    long unsigned;
    boolean closed;
    Verification.Problem problem;

    Run(PublicKey key) {
      this.key = key;
      String fp;
      try {
        fp = Checkpoints.fingerprint(key);
      } catch (RuntimeException e) {
        fp = "";
      }
      this.fingerprint = fp;
    }

    /** Reads one file; false at the first problem. */
    boolean file(String name, InputStream raw) throws IOException {
      if (started) {
        previousFile = file;
        previousFileLastLine = lastLineInFile;
      }
      file = name;
      line = 0;
      lastLineInFile = 0;
      BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
      ByteArrayOutputStream buf = new ByteArrayOutputStream(512);
      while (true) {
        buf.reset();
        int b;
        boolean tooLong = false;
        while ((b = in.read()) != -1 && b != '\n') {
          if (buf.size() < MAX_LINE_BYTES) {
            buf.write(b);
          } else {
            tooLong = true;
          }
        }
        if (b == -1 && buf.size() == 0 && !tooLong) {
          return true;
        }
        line++;
        if (tooLong) {
          return fail(Verification.Kind.MALFORMED, line, "the line is longer than " + MAX_LINE_BYTES + " bytes");
        }
        if (b == -1) {
          return fail(Verification.Kind.TRUNCATED, line, "the last line is incomplete (no newline): the file was cut"
              + " in the middle of a record, or a write was interrupted");
        }
        if (!line(buf.toByteArray())) {
          return false;
        }
        lastLineInFile = line;
      }
    }

    boolean line(byte[] bytes) {
      JsonNode node;
      try {
        node = JSON.readTree(bytes);
      } catch (IOException e) {
        // Jackson's parse errors (all of them JacksonException); memory cannot fail to read
        return fail(Verification.Kind.MALFORMED, line, "not a JSON object");
      }
      if (node == null || !node.isObject()) {
        return fail(Verification.Kind.MALFORMED, line, "not a JSON object");
      }
      JsonNode seqNode = node.get("seq");
      JsonNode prevNode = node.get("prev");
      JsonNode typeNode = node.get("type");
      if (seqNode == null || !seqNode.isIntegralNumber() || !seqNode.canConvertToLong() || seqNode.asLong() < 1) {
        return fail(Verification.Kind.MALFORMED, line, "no sequence number (seq)");
      }
      if (prevNode == null || !prevNode.isTextual() || !prevNode.asText().matches("[0-9a-f]{64}")) {
        return fail(Verification.Kind.MALFORMED, line, "no previous hash (prev, 64 hex digits)");
      }
      if (typeNode == null || !typeNode.isTextual() || typeNode.asText().isEmpty()) {
        return fail(Verification.Kind.MALFORMED, line, "no record type");
      }
      long seq = seqNode.asLong();
      byte[] prev = HexFormat.of().parseHex(prevNode.asText());
      String type = typeNode.asText();
      if (!RECORD_TYPES.contains(type)) {
        // a checkpoint whose type was altered would otherwise pass as an unsigned record
        return fail(Verification.Kind.MALFORMED, line, "unknown record type '"
            + dev.keywarden.failure.Inputs.quoted(type) + "'");
      }
      if (!started) {
        if (type.equals("start")) {
          if (seq != 1 || !Arrays.equals(prev, ZERO_HASH)) {
            return fail(Verification.Kind.MALFORMED, line, "a start record must be record 1 with an all-zero prev");
          }
        } else if (!type.equals("continues")) {
          return fail(Verification.Kind.MISSING_START, line, "this is record " + seq + " of its chain, but the log "
              + "does not start with the chain's start record nor with a 'continues' record: the lines before it "
              + "were removed (or give the earlier rotated files too)");
        }
        started = true;
        firstSeq = seq;
      } else {
        if (seq != prevSeq + 1) {
          long missing = seq - prevSeq - 1;
          return fail(Verification.Kind.OUT_OF_SEQUENCE, line, "this is record " + seq + " but record "
              + (prevSeq + 1) + " was expected: " + (missing > 0 ? missing + " record(s) before it were removed"
              : "lines were reordered, repeated or inserted"));
        }
        if (!Arrays.equals(prev, prevHash)) {
          return brokenChain();
        }
      }
      if (type.equals("checkpoint")) {
        if (!checkpoint(bytes, node)) {
          return false;
        }
        checkpoints++;
        unsigned = 0;
        JsonNode fin = node.get("final");
        closed = fin != null && fin.isBoolean() && fin.asBoolean();
      } else {
        unsigned++;
        closed = false;
      }
      prevSeq = seq;
      prevHash = Lines.sha256(bytes);
      records++;
      return true;
    }

    /** The link from the line before to this one is broken: name the earlier line, the first that may be altered. */
    private boolean brokenChain() {
      String why = ": its SHA-256 is not the prev the next line carries (it was altered, or the next line's prev "
          + "was, or a line was inserted between them)";
      if (line == 1) {
        problem = new Verification.Problem(Verification.Kind.BROKEN_CHAIN, previousFile, previousFileLastLine,
            "the last line of this file is not followed by the first line of " + file + why);
        return false;
      }
      return fail(Verification.Kind.BROKEN_CHAIN, line - 1, "this line does not link to the next" + why);
    }

    private boolean checkpoint(byte[] bytes, JsonNode node) {
      JsonNode sigNode = node.get("sig");
      JsonNode keyNode = node.get("key");
      int at = lastIndexOf(bytes, SIG_FIELD);
      if (sigNode == null || !sigNode.isTextual() || at < 0 || !endsWith(bytes, SIG_TAIL)) {
        return fail(Verification.Kind.MALFORMED, line, "a checkpoint without its signature as its last field");
      }
      String sigText = new String(bytes, at + SIG_FIELD.length, bytes.length - SIG_TAIL.length - at
          - SIG_FIELD.length, UTF_8);
      if (!sigText.equals(sigNode.asText())) {
        return fail(Verification.Kind.MALFORMED, line, "a checkpoint without its signature as its last field");
      }
      if (keyNode == null || !keyNode.isTextual() || !keyNode.asText().equals(fingerprint)) {
        return fail(Verification.Kind.BAD_SIGNATURE, line, "the checkpoint names signing key "
            + (keyNode == null ? "(none)" : dev.keywarden.failure.Inputs.quoted(keyNode.asText()))
            + ", not the key given (" + fingerprint + ")");
      }
      byte[] sig;
      try {
        sig = Base64.getDecoder().decode(sigText);
      } catch (IllegalArgumentException e) {
        return fail(Verification.Kind.MALFORMED, line, "the checkpoint's signature is not base64");
      }
      // only the one encoding the writer makes: otherwise the last line's padding bits could change unnoticed
      if (!Base64.getEncoder().encodeToString(sig).equals(sigText)) {
        return fail(Verification.Kind.MALFORMED, line, "the checkpoint's signature is not canonical base64");
      }
      if (!Checkpoints.verify(key, Checkpoints.message(bytes, at + 1), sig)) {
        return fail(Verification.Kind.BAD_SIGNATURE, line, "the checkpoint's signature does not verify: the line "
            + "was altered or forged");
      }
      return true;
    }

    private boolean fail(Verification.Kind kind, long at, String message) {
      problem = new Verification.Problem(kind, file, at, message);
      return false;
    }

    Verification finish(boolean requireClosed) {
      if (problem == null && requireClosed && !closed) {
        problem = new Verification.Problem(Verification.Kind.TRUNCATED, file, lastLineInFile + 1,
            records == 0 ? "the log holds no records" : "the log ends after line " + lastLineInFile
                + " without a final checkpoint: its tail was cut (or the device was never closed)");
      }
      return result();
    }

    Verification result() {
      return new Verification(problem, records, checkpoints, firstSeq, prevSeq,
          prevHash == null ? "" : HexFormat.of().formatHex(prevHash), problem == null && closed, unsigned);
    }
  }

  private static int lastIndexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = hay.length - needle.length; i >= 0; i--) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static boolean endsWith(byte[] hay, byte[] tail) {
    if (hay.length < tail.length) {
      return false;
    }
    for (int i = 0; i < tail.length; i++) {
      if (hay[hay.length - tail.length + i] != tail[i]) {
        return false;
      }
    }
    return true;
  }
}
