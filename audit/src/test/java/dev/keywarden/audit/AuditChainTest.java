package dev.keywarden.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.hsm.KeyPairAlgorithm;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hash chain, the signed checkpoints and the offline verifier, on files written by real devices. */
class AuditChainTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  Path dir;
  AuditFixture f;
  Path log;
  PublicKey key;
  List<String> lines;

  @BeforeEach
  void closedLog() throws Exception {
    f = new AuditFixture(dir);
    f.audit.enable(f.fileDevice("main", AuditDeviceConfig.FsyncPolicy.BATCHED));
    f.calls(12);
    key = publicKeyFromPem(f.audit.publicKeyPem());
    f.audit.disable("main");
    log = f.file("main.log");
    lines = AuditFixture.lines(log);
  }

  @AfterEach
  void close() {
    if (f != null) {
      f.close();
    }
  }

  /** SoftHSM2 shows a token made after it was initialized only once every session closed: close the first fixture. */
  private void closeFixture() {
    f.close();
    f = null;
  }

  /** The key as a verifier gets it: PEM text parsed by the JDK, no HSM. */
  static PublicKey publicKeyFromPem(String pem) throws Exception {
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    byte[] der = Base64.getDecoder().decode(b64);
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
    } catch (java.security.spec.InvalidKeySpecException e) {
      return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(der));
    }
  }

  private Verification verifyEdited(List<String> edited, boolean requireClosed) throws Exception {
    Path copy = dir.resolve("edited.log");
    AuditFixture.write(copy, edited);
    return AuditVerifier.verify(List.of(copy), key, requireClosed);
  }

  private static JsonNode json(String line) throws Exception {
    return JSON.readTree(line);
  }

  @Test
  void goodLogVerifiesWithThePublicKeyOnly() throws Exception {
    Verification v = AuditVerifier.verify(List.of(log), key, true);
    assertTrue(v.intact(), v.summary());
    assertTrue(v.closed());
    // start + 24 records + checkpoints every 10 lines + the final one
    assertEquals(lines.size(), v.records());
    assertTrue(v.checkpoints() >= 3, v.summary());
    assertEquals("start", json(lines.get(0)).get("type").asText());
    JsonNode last = json(lines.get(lines.size() - 1));
    assertEquals("checkpoint", last.get("type").asText());
    assertTrue(last.get("final").asBoolean());
    assertEquals("disable", last.get("reason").asText());
    for (int i = 0; i < lines.size(); i++) {
      assertEquals(i + 1, json(lines.get(i)).get("seq").asLong());
    }
  }

  @Test
  void checkpointsDoNotVerifyWithAnotherKey() throws Exception {
    closeFixture();
    try (AuditFixture other = new AuditFixture(dir.resolve("other"))) {
      other.audit.enable(other.fileDevice("x", AuditDeviceConfig.FsyncPolicy.BATCHED));
      PublicKey otherKey = other.audit.publicKey();
      Verification v = AuditVerifier.verify(List.of(log), otherKey, false);
      assertEquals(Verification.Kind.BAD_SIGNATURE, v.problem().kind(), v.summary());
    }
  }

  @Test
  void ecdsaCheckpointsVerifyToo() throws Exception {
    closeFixture();
    try (AuditFixture ec = new AuditFixture(dir.resolve("ec"), AuditOptions.defaults("node-1")
        .withCheckpoints(5, Duration.ofMinutes(10)).withSigningKey(KeyPairAlgorithm.EC_P256))) {
      ec.audit.enable(ec.fileDevice("main", AuditDeviceConfig.FsyncPolicy.EVERY_RECORD));
      ec.calls(6);
      PublicKey ecKey = publicKeyFromPem(ec.audit.publicKeyPem());
      ec.audit.disable("main");
      Verification v = AuditVerifier.verify(List.of(ec.file("main.log")), ecKey, true);
      assertTrue(v.intact(), v.summary());
      assertTrue(v.checkpoints() >= 3);
      assertEquals("ECDSA-P256-SHA256", json(AuditFixture.lines(ec.file("main.log")).get(5)).path("alg")
          .asText("ECDSA-P256-SHA256"));
    }
  }

  @Test
  void editingAnyLineIsFoundAtThatLine() throws Exception {
    for (int k = 0; k < lines.size(); k++) {
      List<String> edited = new ArrayList<>(lines);
      String l = edited.get(k);
      assertTrue(l.contains("\"node\":\"node-1\""), l);
      edited.set(k, l.replace("\"node\":\"node-1\"", "\"node\":\"node-2\""));
      Verification v = verifyEdited(edited, false);
      assertFalse(v.intact(), "edit of line " + (k + 1));
      assertEquals(k + 1, v.problem().line(), v.summary());
    }
  }

  @Test
  void deletingAnyLineIsFoundThere() throws Exception {
    for (int k = 0; k < lines.size(); k++) {
      List<String> edited = new ArrayList<>(lines);
      edited.remove(k);
      Verification v = verifyEdited(edited, true);
      assertFalse(v.intact(), "deleting line " + (k + 1));
      Verification.Kind expected = k == 0 ? Verification.Kind.MISSING_START
          : k == lines.size() - 1 ? Verification.Kind.TRUNCATED : Verification.Kind.OUT_OF_SEQUENCE;
      assertEquals(expected, v.problem().kind(), v.summary());
      assertEquals(k + 1, v.problem().line(), v.summary());
    }
  }

  @Test
  void swappingTwoLinesIsFoundAtTheFirst() throws Exception {
    for (int k = 0; k + 1 < lines.size(); k++) {
      List<String> edited = new ArrayList<>(lines);
      edited.set(k, lines.get(k + 1));
      edited.set(k + 1, lines.get(k));
      Verification v = verifyEdited(edited, false);
      assertFalse(v.intact(), "swapping lines " + (k + 1) + " and " + (k + 2));
      assertEquals(k + 1, v.problem().line(), v.summary());
    }
  }

  @Test
  void insertingALineIsFoundThere() throws Exception {
    for (int k = 1; k < lines.size(); k++) {
      List<String> edited = new ArrayList<>(lines);
      edited.add(k, lines.get(k / 2));
      Verification v = verifyEdited(edited, false);
      assertFalse(v.intact());
      assertEquals(k + 1, v.problem().line(), v.summary());
      assertEquals(Verification.Kind.OUT_OF_SEQUENCE, v.problem().kind());
    }
  }

  @Test
  void aForgedLineWithTheRestOfTheChainRewrittenFailsAtTheNextCheckpoint() throws Exception {
    // the attacker inserts a well-formed record after line 3 and renumbers and re-hashes every line after it
    List<String> forged = new ArrayList<>(lines.subList(0, 3));
    String fake = lines.get(2).replace("\"principal\":\"app\"", "\"principal\":\"mallory\"");
    forged.add(fake);
    for (String l : lines.subList(3, lines.size())) {
      forged.add(l);
    }
    for (int i = 3; i < forged.size(); i++) {
      String prev = java.util.HexFormat.of().formatHex(Lines.sha256(forged.get(i - 1).getBytes(UTF_8)));
      forged.set(i, forged.get(i).replaceFirst("^\\{\"seq\":\\d+,\"prev\":\"[0-9a-f]{64}\"",
          "{\"seq\":" + (i + 1) + ",\"prev\":\"" + prev + "\""));
    }
    Verification v = verifyEdited(forged, false);
    assertEquals(Verification.Kind.BAD_SIGNATURE, v.problem().kind(), v.summary());
    int firstCheckpointAfter = -1;
    for (int i = 3; i < forged.size(); i++) {
      if (forged.get(i).contains("\"type\":\"checkpoint\"")) {
        firstCheckpointAfter = i + 1;
        break;
      }
    }
    assertEquals(firstCheckpointAfter, v.problem().line());
  }

  @Test
  void aTruncatedTailIsReportedAsSuch() throws Exception {
    // cut in the middle of the last line
    byte[] all = Files.readAllBytes(log);
    Path cut = dir.resolve("cut.log");
    Files.write(cut, java.util.Arrays.copyOf(all, all.length - 20));
    Verification v = AuditVerifier.verify(List.of(cut), key, false);
    assertEquals(Verification.Kind.TRUNCATED, v.problem().kind(), v.summary());
    assertEquals(lines.size(), v.problem().line());

    // whole lines cut: the final checkpoint is gone, and the records after the last checkpoint are unsigned
    List<String> shorter = new ArrayList<>(lines.subList(0, lines.size() - 3));
    Verification open = verifyEdited(shorter, false);
    assertTrue(open.intact(), open.summary());
    assertFalse(open.closed());
    assertTrue(open.summary().contains("does not end with a final checkpoint"), open.summary());
    Verification closed = verifyEdited(shorter, true);
    assertEquals(Verification.Kind.TRUNCATED, closed.problem().kind(), closed.summary());
    assertEquals(shorter.size() + 1, closed.problem().line());
  }

  @Test
  void renameAndReopenKeepsTheChain() throws Exception {
    f.audit.enable(f.fileDevice("rot", AuditDeviceConfig.FsyncPolicy.BATCHED));
    f.calls(4);
    Path rotated = dir.resolve("rot.log.1");
    Files.move(f.file("rot.log"), rotated);
    f.calls(2); // still into the renamed file: the writer holds it open
    f.audit.reopen("rot");
    f.calls(3);
    f.audit.disable("rot");
    List<String> old = AuditFixture.lines(rotated);
    List<String> now = AuditFixture.lines(f.file("rot.log"));
    JsonNode lastOld = json(old.get(old.size() - 1));
    assertEquals("rotate", lastOld.get("reason").asText());
    assertTrue(lastOld.get("final").asBoolean());
    JsonNode first = json(now.get(0));
    assertEquals("continues", first.get("type").asText());
    assertEquals(lastOld.get("seq").asLong() + 1, first.get("seq").asLong());
    assertEquals(java.util.HexFormat.of().formatHex(Lines.sha256(old.get(old.size() - 1).getBytes(UTF_8))),
        first.get("prev").asText());

    Verification alone = AuditVerifier.verify(f.file("rot.log"), key);
    assertTrue(alone.intact(), alone.summary());
    assertEquals(first.get("seq").asLong(), alone.firstSeq());
    Verification both = AuditVerifier.verify(List.of(rotated, f.file("rot.log")), key, true);
    assertTrue(both.intact(), both.summary());
    assertEquals(old.size() + now.size(), both.records());
    Verification wrongOrder = AuditVerifier.verify(List.of(f.file("rot.log"), rotated), key, false);
    assertFalse(wrongOrder.intact());
  }

  @Test
  void copyTruncateKeepsTheChain() throws Exception {
    f.audit.enable(f.fileDevice("ct", AuditDeviceConfig.FsyncPolicy.BATCHED));
    f.calls(4);
    Path copy = dir.resolve("ct.log.1");
    Files.copy(f.file("ct.log"), copy, StandardCopyOption.COPY_ATTRIBUTES);
    try (RandomAccessFile raf = new RandomAccessFile(f.file("ct.log").toFile(), "rw")) {
      raf.setLength(0);
    }
    f.calls(3);
    f.audit.disable("ct");
    List<String> now = AuditFixture.lines(f.file("ct.log"));
    JsonNode first = json(now.get(0));
    assertEquals("continues", first.get("type").asText());
    assertTrue(first.get("reason").asText().startsWith("copy-truncate"), first.toString());
    assertTrue(AuditVerifier.verify(f.file("ct.log"), key).intact());
    Verification both = AuditVerifier.verify(List.of(copy, f.file("ct.log")), key, true);
    assertTrue(both.intact(), both.summary());
  }

  @Test
  void sealAndRestartKeepTheChain() throws Exception {
    f.audit.enable(f.fileDevice("keep", AuditDeviceConfig.FsyncPolicy.BATCHED));
    f.calls(2);
    f.seal();
    assertEquals(AuditCall.NOT_AUDITED, f.audit.writeRequest(AuditFixture.request(0)));
    f.unseal();
    f.calls(2);
    f.restart();
    f.calls(2);
    assertEquals(List.of("keep"), f.audit.list().stream().map(i -> i.config().name()).toList());
    f.audit.disable("keep");
    List<String> all = AuditFixture.lines(f.file("keep.log"));
    List<String> types = all.stream().map(l -> {
      try {
        return json(l).get("type").asText();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }).toList();
    assertEquals(2, types.stream().filter("open"::equals).count(), types.toString());
    Verification v = AuditVerifier.verify(List.of(f.file("keep.log")), key, true);
    assertTrue(v.intact(), v.summary());
  }
}
