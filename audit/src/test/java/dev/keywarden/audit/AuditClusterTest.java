package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two servers sharing one store (two cores and audit logs over one SQLite storage and one software KEK; a PKCS#11
 * token opens once per process): a device enabled or disabled on one opens or closes on the other, each server
 * writes its own file and chain, and hashes agree.
 */
class AuditClusterTest {
  @TempDir
  Path dir;

  private final SoftwareHsmProvider hsm = new SoftwareHsmProvider();
  private Storage storage;
  private Core coreA;
  private Core coreB;
  private AuditLog a;
  private AuditLog b;

  @BeforeEach
  void start() throws Exception {
    Files.createDirectories(dir.resolve("db"));
    storage = SqliteStorage.open(dir.resolve("db"));
    SecureRandom random = new SecureRandom();
    coreA = new Core(storage, hsm, random, 100);
    InitResult init = coreA.initialize(1, 1, null, false, (tx, kek) -> "root");
    coreA.submitUnsealShare(init.shares().get(0));
    coreB = new Core(storage, hsm, random, 100);
    coreB.submitUnsealShare(init.shares().get(0));
    a = new AuditLog(coreA, AuditOptions.defaults("node-a:8200").withCheckpoints(1000, Duration.ofMinutes(10)));
    b = new AuditLog(coreB, AuditOptions.defaults("node-b:8200").withCheckpoints(1000, Duration.ofMinutes(10)));
  }

  @AfterEach
  void stop() {
    a.close();
    b.close();
    coreA.shutdown();
    coreB.shutdown();
    storage.close();
  }

  @Test
  void aDeviceEnabledOnOneServerOpensOnTheOtherWithItsOwnFileAndChainAndClosesWhenDisabled() throws Exception {
    String path = dir.resolve("audit-{node}.log").toString();
    a.enable(new AuditDeviceConfig("main", AuditDeviceConfig.Type.FILE, path,
        AuditDeviceConfig.FsyncPolicy.BATCHED, "", AuditDeviceConfig.DEFAULT_TIMEOUT,
        AuditDeviceConfig.DEFAULT_QUEUE_CAPACITY, null));
    Path fileA = dir.resolve("audit-node-a_8200.log");
    Path fileB = dir.resolve("audit-node-b_8200.log");
    assertTrue(Files.exists(fileA), "node a writes the path with its own name");
    within(() -> b.active() && Files.exists(fileB), "node b opened the device enabled on node a");

    AuditCall call = b.writeRequest(AuditFixture.request(7));
    b.writeResponse(call, AuditFixture.response(7));
    assertTrue(b.sync(Duration.ofSeconds(5)));
    String logB = Files.readString(fileB, StandardCharsets.UTF_8);
    assertTrue(logB.contains("app-7") && logB.contains("node-b:8200"), logB);
    assertFalse(Files.readString(fileA, StandardCharsets.UTF_8).contains("app-7"), "each server its own file");
    assertEquals(a.hash("main", "secret-7".getBytes(StandardCharsets.UTF_8)),
        b.hash("main", "secret-7".getBytes(StandardCharsets.UTF_8)), "one HMAC key for the device on every server");

    String before = a.hash("main", "x".getBytes(StandardCharsets.UTF_8));
    a.disable("main");
    within(() -> !b.active(), "node b stopped using the device disabled on node a");
    within(() -> lastLine(fileB).contains("\"final\":true"), "node b closed its file with a final checkpoint");
    Verification v = AuditVerifier.verify(fileB, b.publicKey());
    assertTrue(v.intact() && v.closed(), "node b's chain verifies on its own: " + v.summary());

    // enabled again under the same name: a new HMAC key, which node b must use, not the one it cached
    a.enable(new AuditDeviceConfig("main", AuditDeviceConfig.Type.FILE, path,
        AuditDeviceConfig.FsyncPolicy.BATCHED, "", AuditDeviceConfig.DEFAULT_TIMEOUT,
        AuditDeviceConfig.DEFAULT_QUEUE_CAPACITY, null));
    within(b::active, "node b reopened the device");
    String after = a.hash("main", "x".getBytes(StandardCharsets.UTF_8));
    assertNotEquals(before, after);
    assertEquals(after, b.hash("main", "x".getBytes(StandardCharsets.UTF_8)));
  }

  private static String lastLine(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return lines.get(lines.size() - 1);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void within(BooleanSupplier condition, String what) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError(what + " within 5 s");
      }
      Thread.sleep(10);
    }
  }
}
