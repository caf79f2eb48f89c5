package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.keywarden.testing.Generators;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any single edit of a closed log is detected: a flipped byte anywhere, a line deleted, two lines swapped, a line
 * repeated elsewhere, the file cut at any byte. The log is written once by a real device with SoftHSM2 checkpoints.
 */
class AuditChainPropertiesTest {
  @TempDir
  static Path dir;
  static AuditFixture f;
  static byte[] log;
  static List<byte[]> lines;
  static PublicKey key;

  @BeforeAll
  static void writeLog() throws Exception {
    f = new AuditFixture(dir);
    f.audit.enable(f.fileDevice("p", AuditDeviceConfig.FsyncPolicy.BATCHED));
    f.calls(15);
    key = f.audit.publicKey();
    f.audit.disable("p");
    log = Files.readAllBytes(f.file("p.log"));
    lines = new ArrayList<>();
    for (String l : new String(log, StandardCharsets.UTF_8).split("\n")) {
      lines.add(l.getBytes(StandardCharsets.UTF_8));
    }
    assertTrue(AuditVerifier.verify("p.log", log, key, true).intact());
  }

  @AfterAll
  static void close() {
    f.close();
  }

  private static Verification verify(byte[] edited) {
    return AuditVerifier.verify("edited", edited, key, true);
  }

  private static byte[] join(List<byte[]> ls) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] l : ls) {
      out.writeBytes(l);
      out.write('\n');
    }
    return out.toByteArray();
  }

  /** The 1-based line holding byte {@code at}. */
  private static long lineOf(int at) {
    long line = 1;
    for (int i = 0; i < at; i++) {
      if (log[i] == '\n') {
        line++;
      }
    }
    return line;
  }

  @Test
  void anyFlippedByteIsFoundAtItsLineOrTheOneBefore() {
    qt().withExamples(1000).forAll(Generators.byteFlips(log.length - 1)).checkAssert(flip -> {
      byte[] edited = log.clone();
      int at = flip.where() % log.length;
      edited[at] ^= (byte) flip.flip();
      Verification v = verify(edited);
      assertFalse(v.intact(), "flip at " + at);
      long line = lineOf(at);
      if (at == log.length - 1) {
        return; // the file's last newline: the log now ends inside a line, which is reported as a truncated tail
      }
      // a changed prev names the line before (the first that may be altered); the rest name the line itself
      assertTrue(v.problem().line() == line || v.problem().line() == line - 1, v.summary() + " (byte in line "
          + line + ")");
    });
  }

  @Test
  void anyLineDeletedSwappedOrRepeatedIsFound() {
    int n = lines.size();
    qt().withExamples(500).forAll(integers().between(0, 2), integers().between(0, n - 1), integers().between(0, n - 1))
        .assuming((kind, i, j) -> kind == 0 || !i.equals(j))
        .checkAssert((kind, i, j) -> {
          List<byte[]> edited = new ArrayList<>(lines);
          switch (kind) {
            case 0 -> edited.remove((int) i);
            case 1 -> {
              edited.set(i, lines.get(j));
              edited.set(j, lines.get(i));
            }
            default -> edited.add(j, lines.get(i));
          }
          assertFalse(verify(join(edited)).intact(), kind + " " + i + " " + j);
        });
  }

  @Test
  void aLogCutAtAnyByteIsFound() {
    qt().withExamples(300).forAll(integers().between(0, log.length - 1))
        .checkAssert(len -> assertFalse(verify(Arrays.copyOf(log, len)).intact(), "cut at " + len));
  }
}
