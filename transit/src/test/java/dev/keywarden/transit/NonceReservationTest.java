package dev.keywarden.transit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.testing.ForwardingStorage;
import dev.keywarden.storage.testing.ForwardingStorageOps;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nonce reservations are made ahead of need: encryption with a cached version never waits for a stalled disk unless
 * everything reserved is used up, and the count in storage always covers the encryptions done.
 */
class NonceReservationTest {
  /** Small, so a test reaches the reservation ahead (at half a block left) and the end of the reservation. */
  private static final long BLOCK = 1000;
  private static final Duration NO_WAIT = Duration.ofSeconds(10);

  @TempDir Path dir;
  private final SecureRandom random = new SecureRandom();
  private final SoftwareHsmProvider provider = new SoftwareHsmProvider();
  private StallingStorage storage;
  private Core core;
  private TransitEngine transit;
  private InitResult init;
  /** Encryptions done per "name/version", over every process of the test. */
  private final Map<String, Integer> done = new HashMap<>();

  @BeforeEach
  void start() {
    storage = new StallingStorage(SqliteStorage.open(dir));
    core = new Core(storage, provider, random, 100);
    init = core.initialize(1, 1, null, false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    transit = engine();
  }

  @AfterEach
  void stop() {
    storage.resume();
    core.shutdown();
    storage.close();
  }

  private TransitEngine engine() {
    return new TransitEngine(core, Clock.systemUTC(), random, BLOCK, 1L << 30);
  }

  private void encrypt(String name, int times) {
    for (int i = 0; i < times; i++) {
      String ct = transit.encrypt(name, new byte[] {(byte) i}, null);
      done.merge(name + "/" + Ciphertexts.parse(ct).version(), 1, Integer::sum);
    }
  }

  /** What storage says each version has reserved is at least what was encrypted with it. */
  private void assertCountsCoverEncryptions(String name) {
    for (KeyVersion v : transit.getKey(name).versions()) {
      int encrypted = done.getOrDefault(name + "/" + v.version(), 0);
      assertTrue(v.encryptionsReserved() >= encrypted, "version " + v.version() + " reserved "
          + v.encryptionsReserved() + " for " + encrypted + " encryptions");
    }
  }

  private long reserved(String name, int version) {
    return transit.getKey(name).version(version).encryptionsReserved();
  }

  @Test
  void aNewKeyEncryptsWithoutWaitingForAStalledDisk() {
    transit.createKey("fresh", KeyType.AES256_GCM96, TransitEngineContract.PLAIN);
    assertEquals(BLOCK, reserved("fresh", 1), "created with a block reserved");
    storage.stall();
    // past half the block: a reservation ahead is queued and waits on the disk; the encryptions do not
    assertTimeoutPreemptively(NO_WAIT, () -> encrypt("fresh", (int) (BLOCK * 9 / 10)));
    eventually(() -> storage.stalledWrites() >= 1, "the reservation ahead was started in the background");
    storage.resume();
    eventually(() -> reserved("fresh", 1) == 2 * BLOCK, "the reservation ahead landed");
    assertCountsCoverEncryptions("fresh");
  }

  @Test
  void aRotatedVersionEncryptsWithoutWaitingForAStalledDisk() {
    transit.createKey("turned", KeyType.CHACHA20_POLY1305, TransitEngineContract.PLAIN);
    encrypt("turned", 10);
    transit.rotate("turned");
    assertEquals(BLOCK, reserved("turned", 2));
    storage.stall();
    assertTimeoutPreemptively(NO_WAIT, () -> encrypt("turned", (int) (BLOCK * 9 / 10)));
    storage.resume();
    eventually(() -> reserved("turned", 2) == 2 * BLOCK, "the reservation ahead landed");
    assertCountsCoverEncryptions("turned");
  }

  @Test
  void unsealReadsNoKeyringAndAKeyIsLoadedOnItsFirstUse() {
    for (int i = 0; i < 20; i++) {
      transit.createKey("many-" + i, KeyType.AES256_GCM96, TransitEngineContract.PLAIN);
    }
    core.shutdown();
    storage.close();
    storage = new StallingStorage(SqliteStorage.open(dir));
    core = new Core(storage, provider, random, 100);
    transit = engine();
    core.submitUnsealShare(init.shares().get(0));
    encrypt("many-7", 1); // a request on one key: only that one is read
    assertEquals(List.of("transit/keys/many-7"), storage.transitKeysRead().stream().distinct().toList(),
        "unseal read keyrings (a global scan) or a request read other keyrings than its own");
  }

  @Test
  void aKeyLoadedAfterUnsealEncryptsWithoutWaitingForAStalledDisk() {
    transit.createKey("kept", KeyType.AES256_GCM96, TransitEngineContract.PLAIN);
    transit.createKey("kept-derived", KeyType.AES256_GCM96, new KeyringConfig(true, false, false, 0, 1, 1));
    encrypt("kept", 300);
    long beforeRestart = reserved("kept", 1);

    // restart: the engine exists while sealed (as in the server); unseal reads nothing, the first use loads the key
    core.shutdown();
    storage.close();
    storage = new StallingStorage(SqliteStorage.open(dir));
    core = new Core(storage, provider, random, 100);
    transit = engine();
    core.submitUnsealShare(init.shares().get(0));
    assertEquals(beforeRestart, reserved("kept", 1), "unseal reserved nothing");
    encrypt("kept", 1); // the first encryption reserves a start for the version (one write)
    long afterFirst = reserved("kept", 1);
    assertTrue(afterFirst - beforeRestart >= BLOCK / 16, "a start of at least 1/16 block: " + afterFirst);

    storage.stall();
    assertTimeoutPreemptively(NO_WAIT, () -> encrypt("kept", (int) (afterFirst - beforeRestart) * 6 / 10));
    storage.resume();
    eventually(() -> reserved("kept", 1) >= afterFirst + BLOCK, "a full block was reserved ahead");
    assertCountsCoverEncryptions("kept");
    assertTrue(reserved("kept", 1) >= done.get("kept/1"), "restarts never reuse a reserved range");
  }

  @Test
  void anEncryptionPastEverythingReservedWaitsForTheDisk() throws Exception {
    transit.createKey("exhausted", KeyType.AES256_GCM96, TransitEngineContract.PLAIN);
    storage.stall();
    // within the reservation made at creation: no wait
    assertTimeoutPreemptively(NO_WAIT, () -> encrypt("exhausted", (int) BLOCK - 300));
    CompletableFuture<Void> past = CompletableFuture.runAsync(() -> encrypt("exhausted", 600));
    try {
      past.get(500, TimeUnit.MILLISECONDS);
      throw new AssertionError("encrypted past its reservation while storage could not record it");
    } catch (TimeoutException expected) {
      // waits: GCM nonce safety before latency
    }
    storage.resume();
    past.get(20, TimeUnit.SECONDS);
    assertCountsCoverEncryptions("exhausted");
  }

  @Test
  void concurrentEncryptionsAreAlwaysCoveredByTheStoredCount() throws Exception {
    transit.createKey("busy", KeyType.AES256_GCM96, TransitEngineContract.PLAIN);
    AtomicInteger total = new AtomicInteger();
    List<CompletableFuture<Void>> workers = new java.util.ArrayList<>();
    for (int t = 0; t < 4; t++) {
      workers.add(CompletableFuture.runAsync(() -> {
        for (int i = 0; i < 2500; i++) {
          transit.encrypt("busy", new byte[1], null);
          total.incrementAndGet();
        }
      }));
    }
    for (CompletableFuture<Void> w : workers) {
      w.get(60, TimeUnit.SECONDS);
    }
    int versions = transit.getKey("busy").latestVersion();
    assertEquals(1, versions);
    assertTrue(reserved("busy", 1) >= total.get(), reserved("busy", 1) + " reserved for " + total.get());
  }

  @Test
  void anEncryptionCountsOneNonceWhicheverThreadMakesIt() throws Exception {
    transit.createKey("spread", KeyType.AES256_GCM96, TransitEngineContract.PLAIN);
    // many threads (as a server's, each touching many keys) encrypting once each: the count is what was used,
    // not a chunk per thread
    for (int t = 0; t < 400; t++) {
      Thread thread = new Thread(() -> transit.encrypt("spread", new byte[1], null));
      thread.start();
      thread.join();
    }
    assertTrue(reserved("spread", 1) <= 2 * BLOCK, "400 encryptions made it reserve " + reserved("spread", 1));
  }

  @Test
  void convergentAndSigningKeysReserveNothing() {
    transit.createKey("conv", KeyType.AES256_GCM96, new KeyringConfig(true, true, false, 0, 1, 1));
    transit.createKey("sig", KeyType.ED25519, TransitEngineContract.PLAIN);
    assertEquals(0, reserved("conv", 1));
    assertEquals(0, reserved("sig", 1));
  }

  private static void eventually(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out: " + what);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** Storage whose writes wait, while stalled, until resumed: a disk that has stopped answering. Reads go through. */
  static final class StallingStorage extends ForwardingStorage {
    private volatile CountDownLatch gate = new CountDownLatch(0);
    private final AtomicInteger stalled = new AtomicInteger();
    /** Keys under transit/keys/ read (get) or listed (list's prefix), in order. */
    private final List<String> transitKeysRead = new java.util.concurrent.CopyOnWriteArrayList<>();

    StallingStorage(Storage inner) {
      super(inner);
    }

    void stall() {
      gate = new CountDownLatch(1);
    }

    void resume() {
      gate.countDown();
    }

    List<String> transitKeysRead() {
      return transitKeysRead;
    }

    private void read(String key) {
      if (key.startsWith("transit/keys/")) {
        transitKeysRead.add(key);
      }
    }

    /** Writes that have waited (or are waiting) on a stall. */
    int stalledWrites() {
      return stalled.get();
    }

    private void await() {
      CountDownLatch g = gate;
      if (g.getCount() == 0) {
        return;
      }
      stalled.incrementAndGet();
      try {
        g.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public Optional<StoredEntry> get(String key) {
      read(key);
      return super.get(key);
    }

    @Override
    public void put(String key, byte[] value) {
      await();
      super.put(key, value);
    }

    @Override
    public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
      await();
      return super.compareAndSet(key, expectedVersion, value);
    }

    @Override
    public List<String> list(String prefix) {
      read(prefix);
      return super.list(prefix);
    }

    @Override
    public List<String> list(String prefix, String after, int limit) {
      read(prefix);
      return super.list(prefix, after, limit);
    }

    @Override
    public List<StoredEntry> entries(String prefix, String after, int limit) {
      read(prefix);
      return super.entries(prefix, after, limit);
    }

    @Override
    public boolean delete(String key) {
      await();
      return super.delete(key);
    }

    @Override
    public <T> T atomically(Function<StorageOps, T> work) {
      await();
      return super.atomically(ops -> work.apply(new ForwardingStorageOps(ops) {
        @Override
        public Optional<StoredEntry> get(String key) {
          read(key);
          return super.get(key);
        }

        @Override
        public List<String> list(String prefix) {
          read(prefix);
          return super.list(prefix);
        }

        @Override
        public List<String> list(String prefix, String after, int limit) {
          read(prefix);
          return super.list(prefix, after, limit);
        }

        @Override
        public List<StoredEntry> entries(String prefix, String after, int limit) {
          read(prefix);
          return super.entries(prefix, after, limit);
        }
      }));
    }
  }
}
