package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A batched file's fsync interval never lets a record wait more than half its device's timeout. */
class AuditDeviceConfigTest {
  private static final Path LOG = Path.of("/var/log/keywarden/audit.log");

  @Test
  void theDefaultIntervalIsOneMillisecondOrHalfAShorterTimeout() {
    AuditDeviceConfig batched = AuditDeviceConfig.file("a", LOG, AuditDeviceConfig.FsyncPolicy.BATCHED);
    assertEquals(Duration.ofMillis(1), batched.fsyncInterval());
    assertEquals(Duration.ofMillis(1), batched.withTimeout(Duration.ofMillis(10)).fsyncInterval());
    assertEquals(Duration.ofMillis(1), batched.withTimeout(Duration.ofMillis(2)).fsyncInterval());
    assertEquals(Duration.ofNanos(500_000), batched.withTimeout(Duration.ofMillis(1)).fsyncInterval());
    assertEquals(Duration.ZERO, AuditDeviceConfig.file("a", LOG, AuditDeviceConfig.FsyncPolicy.EVERY_RECORD)
        .withTimeout(Duration.ofMillis(1)).fsyncInterval());
  }

  @Test
  void anExplicitIntervalOverHalfTheTimeoutIsRefusedAndKeptOtherwise() {
    AuditDeviceConfig batched = AuditDeviceConfig.file("a", LOG, AuditDeviceConfig.FsyncPolicy.BATCHED);
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> batched.withTimeout(Duration.ofMillis(100)).withFsyncInterval(Duration.ofMillis(51)));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains("at most half the device timeout"), e.getMessage());
    // set first, then a timeout too short for it
    assertThrows(KeywardenException.class,
        () -> batched.withFsyncInterval(Duration.ofMillis(20)).withTimeout(Duration.ofMillis(30)));
    assertEquals(Duration.ofMillis(20),
        batched.withFsyncInterval(Duration.ofMillis(20)).withTimeout(Duration.ofMillis(40)).fsyncInterval());
  }

  @Test
  void aDeviceStoredBeforeTheBoundGetsItInsteadOfFailingToOpen() {
    AuditRecords.StoredDevice stored = new AuditRecords.StoredDevice("a", "file", LOG.toString(), "batched", "", 1,
        10_000, "2026-11-30T00:00:00Z", 1000L);
    assertEquals(Duration.ofNanos(500_000), stored.config().fsyncInterval());
  }
}
