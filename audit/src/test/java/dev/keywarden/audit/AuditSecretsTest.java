package dev.keywarden.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Secrets are written only as per-device HMACs, and the devices' audit keys are stored only wrapped by the KEK. */
class AuditSecretsTest {
  private static final String TOKEN = "kwt_very-secret-token-4f1d2c";
  private static final String PLAINTEXT = "the launch code is 0000";
  @TempDir
  Path dir;
  AuditFixture f;

  @BeforeEach
  void open() throws Exception {
    f = new AuditFixture(dir);
    f.audit.enable(f.fileDevice("a", AuditDeviceConfig.FsyncPolicy.BATCHED));
    f.audit.enable(f.fileDevice("b", AuditDeviceConfig.FsyncPolicy.BATCHED));
  }

  @AfterEach
  void close() {
    if (f != null) {
      f.close();
    }
  }

  private void callWithSecrets() {
    AuditRequest r = new AuditRequest("keywarden.v1.TransitService/Encrypt", "transit/keys/app", "encrypt",
        new AuditCaller("token", "app", "acc-1", "", "", List.of("app")), "127.0.0.1:1", true, "granted",
        Map.of("key", "app"), Map.of("token", TOKEN.getBytes(UTF_8), "plaintext", PLAINTEXT.getBytes(UTF_8)), 0);
    AuditCall call = f.audit.writeRequest(r);
    f.audit.writeResponse(call, new AuditResponse("OK", "", Map.of(), Map.of("ciphertext",
        "kw:v1:abc".getBytes(UTF_8)), 0, Map.of()));
    f.audit.sync(java.time.Duration.ofSeconds(5));
  }

  @Test
  void secretsAreWrittenAsHmacsThatHashFindsAgain() throws Exception {
    callWithSecrets();
    String log = Files.readString(f.file("a.log"));
    assertFalse(log.contains(TOKEN));
    assertFalse(log.contains(PLAINTEXT));
    String tokenHash = f.audit.hash("a", TOKEN.getBytes(UTF_8));
    assertTrue(tokenHash.matches("hmac-sha256:[0-9a-f]{64}"), tokenHash);
    assertTrue(log.contains("\"token\":\"" + tokenHash + "\""), log);
    assertTrue(log.contains("\"plaintext\":\"" + f.audit.hash("a", PLAINTEXT.getBytes(UTF_8)) + "\""));
    assertTrue(log.contains("\"ciphertext\":\"" + f.audit.hash("a", "kw:v1:abc".getBytes(UTF_8)) + "\""));
  }

  @Test
  void theSameValueHashesTheSameAndEachDeviceHasItsOwnKey() throws Exception {
    byte[] v = TOKEN.getBytes(UTF_8);
    assertEquals(f.audit.hash("a", v), f.audit.hash("a", v));
    assertNotEquals(f.audit.hash("a", v), f.audit.hash("b", v));
    callWithSecrets();
    // a call returns once one device has its record: b may write a moment later
    String expected = f.audit.hash("b", v);
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!Files.readString(f.file("b.log")).contains(expected) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertTrue(Files.readString(f.file("b.log")).contains(expected));
    // a restart unwraps the same key again
    String before = f.audit.hash("a", v);
    f.restart();
    assertEquals(before, f.audit.hash("a", v));
  }

  @Test
  void hashOfAnUnknownDeviceIsNotFound() {
    KeywardenException e = assertThrows(KeywardenException.class, () -> f.audit.hash("nope", new byte[] {1}));
    assertEquals(KeywardenException.Kind.NOT_FOUND, e.kind());
  }

  @Test
  void theAuditKeyIsStoredOnlyWrapped() throws Exception {
    callWithSecrets();
    byte[] raw = f.core.unsealed().workingKeys().withKey(AuditRecords.hmacKey("a"), byte[]::clone);
    assertEquals(32, raw.length);
    f.close();
    f = null;
    List<Path> stored;
    try (Stream<Path> files = Files.walk(dir)) {
      stored = files.filter(Files::isRegularFile).toList();
    }
    assertTrue(stored.stream().anyMatch(p -> p.getFileName().toString().startsWith("keywarden.db")), "" + stored);
    for (Path p : stored) {
      byte[] bytes = Files.readAllBytes(p);
      assertFalse(contains(bytes, raw), "raw audit key in " + p);
      assertFalse(contains(bytes, HexFormat.of().formatHex(raw).getBytes(UTF_8)), "hex audit key in " + p);
      assertFalse(contains(bytes, TOKEN.getBytes(UTF_8)), "token in " + p);
      assertFalse(contains(bytes, PLAINTEXT.getBytes(UTF_8)), "plaintext in " + p);
    }
  }

  static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
