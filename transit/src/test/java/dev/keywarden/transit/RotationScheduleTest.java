package dev.keywarden.transit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.testing.ForwardingStorage;
import dev.keywarden.storage.testing.ReadRecordingStorage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scheduled rotation reads the rotation index ({@code transit/rotation-due/SECONDS/NAME}) up to now, not every
 * keyring; the index moves with the keyring in one transaction, keyrings stored before it are indexed once, and a
 * rotation racing a change or a delete neither loses a rotation nor brings a key back.
 */
class RotationScheduleTest {
  private static final long HOUR = 3600;

  @TempDir Path dir;
  private final SecureRandom random = new SecureRandom();
  private final TransitEnginePropertiesTest.MutableClock clock = new TransitEnginePropertiesTest.MutableClock();
  private BeforeFirstTransaction interfering;
  private ReadRecordingStorage storage;
  private Core core;
  private TransitEngine transit;

  @BeforeEach
  void start() {
    interfering = new BeforeFirstTransaction(SqliteStorage.open(dir));
    storage = new ReadRecordingStorage(interfering);
    core = new Core(storage, new SoftwareHsmProvider(), random, 100);
    InitResult init = core.initialize(1, 1, null, false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    transit = new TransitEngine(core, clock, random);
  }

  @AfterEach
  void stop() {
    core.shutdown();
    storage.close();
  }

  private static KeyringConfig every(long seconds, boolean deletable) {
    return new KeyringConfig(false, false, deletable, seconds, 1, 1);
  }

  private List<String> index() {
    return storage.list(TransitEngine.ROTATION_DUE);
  }

  @Test
  void aRunReadsOnlyTheKeyringsThatAreDue() {
    for (int i = 0; i < 40; i++) {
      transit.createKey("plain-" + i, KeyType.AES256_GCM96, every(0, false));
    }
    for (int i = 0; i < 3; i++) {
      transit.createKey("hourly-" + i, KeyType.AES256_GCM96, every(HOUR, false));
    }
    transit.createKey("daily", KeyType.AES256_GCM96, every(24 * HOUR, false));
    assertEquals(0, transit.rotateDue()); // the first run looks for keyrings from before the index: none here
    assertEquals(4, index().size());

    clock.advance(Duration.ofHours(1));
    storage.reads.clear();
    assertEquals(3, transit.rotateDue());
    List<String> keyringsRead = storage.reads.stream().filter(r -> r.startsWith(TransitEngine.PREFIX)).toList();
    assertTrue(keyringsRead.stream().allMatch(r -> r.startsWith(TransitEngine.PREFIX + "hourly-")), keyringsRead
        .toString());
    assertFalse(storage.reads.stream().anyMatch(r -> r.startsWith(TransitEngine.PREFIX + "[")
        || r.equals(TransitEngine.PREFIX)), "no listing of the keyrings: " + storage.reads);
    for (int i = 0; i < 3; i++) {
      assertEquals(2, transit.getKey("hourly-" + i).latestVersion());
    }
    assertEquals(1, transit.getKey("daily").latestVersion());

    storage.reads.clear();
    assertEquals(0, transit.rotateDue(), "the new versions are not due yet");
    assertTrue(storage.reads.stream().noneMatch(r -> r.startsWith(TransitEngine.PREFIX)), storage.reads.toString());
    assertEquals(4, index().size(), "one entry per keyring with a period: " + index());
  }

  @Test
  void keyringsStoredBeforeTheIndexStillRotateAndAreIndexedOnce() throws Exception {
    // as a server from before the index wrote them: the keyring alone, no index entry, no marker
    ObjectMapper json = new ObjectMapper();
    long created = clock.millis();
    for (String name : List.of("old-hourly", "old-plain")) {
      KeyVersion v = new KeyVersion(1, created, core.unsealed().kek().wrap(new byte[32]), null, null, null, 0);
      storage.put(TransitEngine.PREFIX + name, json.writeValueAsBytes(new Keyring(name, "aes256-gcm96", created,
          every(name.equals("old-hourly") ? HOUR : 0, false), List.of(v))));
    }
    clock.advance(Duration.ofHours(1));
    assertEquals(1, transit.rotateDue());
    assertEquals(2, transit.getKey("old-hourly").latestVersion());
    assertEquals(1, transit.getKey("old-plain").latestVersion());
    assertTrue(storage.get(TransitEngine.ROTATION_INDEXED).isPresent());
    assertEquals(1, index().size());

    // another process (a restart) sees the marker and lists no keyring again
    TransitEngine restarted = new TransitEngine(core, clock, random);
    clock.advance(Duration.ofHours(1));
    storage.reads.clear();
    assertEquals(1, restarted.rotateDue());
    assertFalse(storage.reads.contains(TransitEngine.PREFIX + "[," + TransitEngine.ROTATION_PAGE + "]"),
        storage.reads.toString());
    assertEquals(3, restarted.getKey("old-hourly").latestVersion());
  }

  @Test
  void aConfigChangeMovesTheEntryAndAPeriodOfZeroRemovesIt() {
    transit.createKey("k", KeyType.AES256_GCM96, every(HOUR, false));
    transit.updateConfig("k", new TransitEngine.ConfigChange(null, null, null, 2 * HOUR));
    assertEquals(1, index().size());
    clock.advance(Duration.ofHours(1));
    assertEquals(0, transit.rotateDue());
    clock.advance(Duration.ofHours(1));
    assertEquals(1, transit.rotateDue());
    assertEquals(2, transit.getKey("k").latestVersion());
    transit.updateConfig("k", new TransitEngine.ConfigChange(null, null, null, 0L));
    assertEquals(List.of(), index());
    clock.advance(Duration.ofDays(10));
    assertEquals(0, transit.rotateDue());
    // a manual rotation moves the entry too
    transit.updateConfig("k", new TransitEngine.ConfigChange(null, null, null, HOUR));
    String before = index().get(0);
    clock.advance(Duration.ofMinutes(30));
    transit.rotate("k");
    assertEquals(1, index().size());
    assertFalse(index().contains(before), index().toString());
  }

  @Test
  void aDeleteRemovesTheEntryAndAStaleEntryBringsNoKeyBack() {
    transit.createKey("gone", KeyType.AES256_GCM96, every(HOUR, true));
    Optional<String> entry = TransitEngine.dueKey(transit.getKey("gone"));
    transit.delete("gone");
    assertEquals(List.of(), index());
    // an entry the delete missed (written by a server that raced it before the index existed, say)
    storage.put(entry.orElseThrow(), "gone".getBytes(StandardCharsets.UTF_8));
    clock.advance(Duration.ofHours(2));
    assertEquals(0, transit.rotateDue());
    assertTrue(storage.get(TransitEngine.PREFIX + "gone").isEmpty());
    assertEquals(List.of(), index(), "the stale entry is dropped");
  }

  @Test
  void aRotationRacingAConfigChangeStillRotates() {
    transit.createKey("busy", KeyType.AES256_GCM96, every(HOUR, false));
    transit.rotateDue(); // the index's one-time check, so that the next transaction is the rotation's
    clock.advance(Duration.ofHours(1));
    TransitEngine other = new TransitEngine(core, clock, random);
    // lands between the run's read of the keyring and its compare-and-set
    interfering.before(() -> other.updateConfig("busy", new TransitEngine.ConfigChange(null, null, true, null)));
    assertEquals(1, transit.rotateDue());
    assertEquals(2, transit.getKey("busy").latestVersion());
    assertTrue(transit.getKey("busy").config().deletionAllowed(), "the racing change is kept");
    assertEquals(1, index().size());
  }

  @Test
  void aRotationRacingADeleteBringsNoKeyBack() {
    transit.createKey("doomed", KeyType.AES256_GCM96, every(HOUR, true));
    transit.rotateDue();
    clock.advance(Duration.ofHours(1));
    TransitEngine other = new TransitEngine(core, clock, random);
    interfering.before(() -> other.delete("doomed"));
    assertEquals(0, transit.rotateDue());
    assertTrue(storage.get(TransitEngine.PREFIX + "doomed").isEmpty());
    assertThrows(KeywardenException.class, () -> transit.getKey("doomed"));
    assertEquals(List.of(), index());
  }

  /** Storage that runs a task once, just before the next transaction begins (a change by another server). */
  static final class BeforeFirstTransaction extends ForwardingStorage {
    private Runnable pending;

    BeforeFirstTransaction(Storage real) {
      super(real);
    }

    void before(Runnable task) {
      pending = task;
    }

    @Override
    public <T> T atomically(Function<StorageOps, T> work) {
      Runnable task = pending;
      pending = null;
      if (task != null) {
        task.run();
      }
      return super.atomically(work);
    }
  }
}
