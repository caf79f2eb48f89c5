package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.storage.InitMarker;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The seal state machine, run against each HSM provider with real SQLite storage. */
abstract class CoreContract {
  @TempDir
  Path dataDir;

  Storage storage;
  Core core;
  final SecureRandom random = new SecureRandom();

  abstract HsmProvider provider();

  /** The PIN init needs (null for the software provider). */
  abstract char[] pin();

  @BeforeEach
  void open() {
    storage = SqliteStorage.open(dataDir);
    core = newCore();
  }

  @AfterEach
  void close() {
    core.shutdown();
    storage.close();
  }

  Core newCore() {
    return new Core(storage, provider(), random, 100, InitMarker.in(dataDir));
  }

  InitResult init(int n, int k) {
    return core.initialize(n, k, pin(), false, (tx, kek) -> {
      byte[] material = new byte[32];
      random.nextBytes(material);
      tx.put("sys/keys/test", kek.wrap(material));
      return "root-token-placeholder";
    });
  }

  Core restart() {
    core.shutdown();
    storage.close();
    storage = SqliteStorage.open(dataDir);
    core = newCore();
    return core;
  }

  void unsealWith(List<String> shares) {
    CeremonyProgress last = null;
    for (String s : shares) {
      last = core.submitUnsealShare(s);
    }
    assertTrue(last.complete(), "unsealed after " + shares.size() + " shares");
  }

  static KeywardenException.Kind kindOf(Runnable r) {
    return assertThrows(KeywardenException.class, r::run).kind();
  }

  @Test
  void beforeInitRequestsSayToRunInitFirstAndAfterInitToUnseal() {
    KeywardenException before = assertThrows(KeywardenException.class, core::unsealed);
    assertEquals(Kind.FAILED_PRECONDITION, before.kind());
    assertEquals("not initialized: run `keywarden operator init` first, then unseal (keywarden operator unseal)",
        before.getMessage());
    init(1, 1);
    assertEquals("sealed: the server must be unsealed first (keywarden operator unseal)",
        assertThrows(KeywardenException.class, core::unsealed).getMessage());
  }

  @Test
  void initWritesAMarkerInTheDataDirThatHoldsNoSecret() throws Exception {
    assertFalse(Files.exists(dataDir.resolve(InitMarker.FILE)), "no marker before init");
    InitResult init = init(3, 2);
    InitMarker.Recorded recorded = InitMarker.in(dataDir).read().orElseThrow();
    assertEquals(init.kekLabel(), recorded.kekLabel());
    assertTrue(recorded.atInit());
    assertFalse(recorded.initialized().isAfter(Instant.now()));
    String text = Files.readString(dataDir.resolve(InitMarker.FILE));
    assertFalse(text.contains(init.rootToken()));
    init.shares().forEach(s -> assertFalse(text.contains(s)));
  }

  @Test
  void anInitializedDataDirWithAnEmptiedDatabaseRefusesToStartInsteadOfOfferingInit() throws Exception {
    init(1, 1);
    core.shutdown();
    storage.close();
    Path db = dataDir.resolve(SqliteStorage.DATABASE_FILE);
    Files.write(db, new byte[0]);
    KeywardenException e = assertThrows(KeywardenException.class, () -> SqliteStorage.open(dataDir));
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().startsWith("data dir " + dataDir.toAbsolutePath().normalize() + " was initialized on "),
        e.getMessage());
    assertTrue(e.getMessage().contains("but its database " + db.toAbsolutePath().normalize() + " is empty (0 bytes):"
        + " restore keywarden.db from a backup, then start the server again. Never run `keywarden operator init`"
        + " over it"), e.getMessage());
    Files.delete(db);
    assertTrue(assertThrows(KeywardenException.class, () -> SqliteStorage.open(dataDir)).getMessage()
        .contains(" is missing: restore keywarden.db from a backup"));
    storage = SqliteStorage.open(dataDir.resolve("unused")); // for close()
  }

  @Test
  void anInitializedDataDirWhoseDatabaseWasReplacedByANewOneRefusesToStart() throws Exception {
    init(1, 1);
    core.shutdown();
    storage.close();
    Path db = dataDir.resolve(SqliteStorage.DATABASE_FILE);
    Files.delete(db);
    // a fresh database made elsewhere and copied in: it opens, but holds no seal envelope
    Path elsewhere = dataDir.resolve("elsewhere");
    SqliteStorage.open(elsewhere).close();
    Files.copy(elsewhere.resolve(SqliteStorage.DATABASE_FILE), db);
    storage = SqliteStorage.open(dataDir);
    KeywardenException e = assertThrows(KeywardenException.class, this::newCore);
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("but its database " + db.toAbsolutePath().normalize() + " holds no seal"
        + " envelope (it was replaced, emptied or damaged): restore keywarden.db from a backup"), e.getMessage());
  }

  @Test
  void aDataDirInitializedBeforeMarkersGetsOneAtStart() throws Exception {
    InitResult init = init(1, 1);
    Files.delete(dataDir.resolve(InitMarker.FILE));
    restart();
    InitMarker.Recorded recorded = InitMarker.in(dataDir).read().orElseThrow();
    assertFalse(recorded.atInit(), "written at start, not by init");
    assertEquals(init.kekLabel(), recorded.kekLabel());
    unsealWith(init.shares());
  }


  @Test
  void initLeavesTheServerSealedWithStatusShowingTheSplit() {
    InitResult init = init(5, 3);
    assertEquals(5, init.shares().size());
    CoreStatus status = core.status();
    assertTrue(status.initialized());
    assertTrue(status.sealed());
    assertEquals(3, status.threshold());
    assertEquals(5, status.shares());
    assertEquals(init.kekLabel(), status.kekLabel());
    assertEquals(Kind.FAILED_PRECONDITION, kindOf(core::unsealed));
  }

  @Test
  void anyThreeOfFiveUnsealAcrossRestartsAndTheSameShareTwiceCountsOnce() {
    InitResult init = init(5, 3);
    List<String> s = init.shares();
    assertEquals(1, core.submitUnsealShare(s.get(0)).progress());
    assertEquals(1, core.submitUnsealShare(s.get(0)).progress());
    assertEquals(2, core.submitUnsealShare(s.get(4)).progress());
    assertTrue(core.submitUnsealShare(s.get(2)).complete());
    assertFalse(core.isSealed());
    byte[] first = core.unsealed().workingKeys().withKey("sys/keys/test", byte[]::clone);

    restart();
    assertTrue(core.isSealed());
    assertEquals(init.kekLabel(), core.status().kekLabel(), "KEK label readable while sealed");
    unsealWith(List.of(s.get(3), s.get(1), s.get(4)));
    assertArrayEquals(first, core.unsealed().workingKeys().withKey("sys/keys/test", byte[]::clone));
  }

  @Test
  void sealZeroizesWorkingKeysAndRefusesUse() {
    InitResult init = init(1, 1);
    unsealWith(init.shares());
    WorkingKeys keys = core.unsealed().workingKeys();
    byte[][] live = new byte[1][];
    keys.withKey("sys/keys/test", k -> live[0] = k);
    assertFalse(allZero(live[0]));
    core.seal();
    assertTrue(allZero(live[0]), "the cached key array was zeroized on seal");
    assertEquals(Kind.FAILED_PRECONDITION, kindOf(() -> keys.withKey("sys/keys/test", k -> k)));
    assertEquals(Kind.FAILED_PRECONDITION, kindOf(core::seal));
    unsealWith(init.shares());
    assertEquals(Integer.valueOf(32), core.unsealed().workingKeys().withKey("sys/keys/test", k -> k.length));
  }

  @Test
  void mistypedAndForeignSharesAreRefusedWithoutLosingProgress() {
    InitResult init = init(3, 2);
    core.submitUnsealShare(init.shares().get(0));
    String share = init.shares().get(1);
    char c = share.charAt(share.length() - 5);
    String typo = share.substring(0, share.length() - 5) + (c == 'A' ? 'B' : 'A') + share.substring(share.length() - 4);
    KeywardenException e = assertThrows(KeywardenException.class, () -> core.submitUnsealShare(typo));
    assertEquals(Kind.INVALID_ARGUMENT, e.kind());
    assertFalse(e.getMessage().contains(typo.substring(6)), "message does not echo the share");
    assertEquals(1, core.status().unsealProgress());

    List<String> foreign = otherServersShares();
    assertEquals(Kind.INVALID_ARGUMENT, kindOf(() -> core.submitUnsealShare(foreign.get(0))));
    assertEquals(1, core.status().unsealProgress());
    assertTrue(core.submitUnsealShare(share).complete());
  }

  private List<String> otherServersShares() {
    return UnsealKeySplitter.split(new byte[32], 3, 2, random).stream().map(ShareCodec::encode).toList();
  }

  @Test
  void forgedSharesOfTheRightSetThatDoNotOpenTheEnvelopeResetProgress() {
    InitResult init = init(3, 2);
    UnsealShare real = ShareCodec.decode(init.shares().get(0));
    byte[] junk = new byte[32];
    random.nextBytes(junk);
    List<UnsealShare> forged = UnsealKeySplitter.split(junk, 3, 2, random).stream()
        .map(s -> new UnsealShare(real.shareSetId(), s.index(), 2, s.value())).toList();
    core.submitUnsealShare(ShareCodec.encode(forged.get(0)));
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> core.submitUnsealShare(ShareCodec.encode(forged.get(1))));
    assertEquals(Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains("did not reconstruct"), e.getMessage());
    assertEquals(0, core.status().unsealProgress());
    assertTrue(core.isSealed());
    unsealWith(init.shares().subList(1, 3));
  }

  @Test
  void initTwiceIsRefusedAndUnsealWhenUnsealedIsAPreconditionError() {
    InitResult init = init(1, 1);
    assertEquals(Kind.ALREADY_EXISTS, kindOf(() -> init(1, 1)));
    unsealWith(init.shares());
    assertEquals(Kind.FAILED_PRECONDITION, kindOf(() -> core.submitUnsealShare(init.shares().get(0))));
  }

  @Test
  void badSplitsAreRefusedAndNothingIsWritten() {
    assertEquals(Kind.INVALID_ARGUMENT, kindOf(() -> init(3, 4)));
    assertEquals(Kind.INVALID_ARGUMENT, kindOf(() -> init(0, 0)));
    assertEquals(Kind.INVALID_ARGUMENT, kindOf(() -> init(256, 2)));
    assertEquals(Kind.INVALID_ARGUMENT, kindOf(() -> init(3, 1)), "K=1 of N>1 needs the explicit flag");
    assertTrue(storage.list("").isEmpty());
    assertFalse(core.status().initialized());
    InitResult ok = core.initialize(3, 1, pin(), true, (tx, kek) -> "t");
    assertTrue(core.submitUnsealShare(ok.shares().get(2)).complete());
  }

  @Test
  void aFailingInitialStateLeavesNothingHalfWritten() {
    assertThrows(IllegalStateException.class, () -> core.initialize(1, 1, pin(), false, (tx, kek) -> {
      tx.put("sys/keys/x", kek.wrap(new byte[32]));
      throw new IllegalStateException("boom");
    }));
    assertTrue(storage.list("").isEmpty(), "no envelope and no partial state");
    assertFalse(core.status().initialized());
    init(1, 1);
  }

  @Test
  void rekeyReplacesTheSharesOnlyWhenComplete() {
    InitResult init = init(5, 3);
    List<String> old = init.shares();
    unsealWith(old.subList(0, 3));
    CeremonyStarted started = core.startRekey(4, 2, false);
    assertEquals(3, started.required());
    assertEquals(Kind.INVALID_ARGUMENT, kindOf(() -> core.submitRekeyShare("wrong-nonce", old.get(0))));
    assertFalse(core.submitRekeyShare(started.nonce(), old.get(0)).complete());
    assertFalse(core.submitRekeyShare(started.nonce(), old.get(3)).complete());
    CeremonyProgress done = core.submitRekeyShare(started.nonce(), old.get(4));
    assertTrue(done.complete());
    assertEquals(4, done.shares().size());
    assertEquals(2, done.threshold());

    restart();
    assertEquals(2, core.status().threshold());
    assertEquals(4, core.status().shares());
    assertEquals(Kind.INVALID_ARGUMENT, kindOf(() -> core.submitUnsealShare(old.get(0))), "old shares stop working");
    unsealWith(done.shares().subList(2, 4));
  }

  @Test
  void anInterruptedRekeyLeavesTheOldSharesValid() {
    InitResult init = init(3, 2);
    unsealWith(init.shares().subList(0, 2));
    CeremonyStarted started = core.startRekey(3, 2, false);
    core.submitRekeyShare(started.nonce(), init.shares().get(0));
    assertEquals(Kind.FAILED_PRECONDITION, kindOf(() -> core.startRekey(3, 2, false)), "one rekey at a time");
    core.cancelRekey();
    restart();
    unsealWith(init.shares().subList(1, 3));
    CeremonyStarted again = core.startRekey(2, 2, false);
    core.submitRekeyShare(again.nonce(), init.shares().get(2));
    restart(); // server dies mid-rekey
    unsealWith(init.shares().subList(0, 2));
  }

  @Test
  void generateRootNeedsThresholdSharesAndMintsOnce() {
    InitResult init = init(5, 3);
    unsealWith(init.shares().subList(0, 3));
    CeremonyStarted started = core.startGenerateRoot();
    int[] minted = new int[1];
    assertFalse(core.submitGenerateRootShare(started.nonce(), init.shares().get(1), () -> "t" + ++minted[0]).complete());
    assertFalse(core.submitGenerateRootShare(started.nonce(), init.shares().get(2), () -> "t" + ++minted[0]).complete());
    assertEquals(0, minted[0]);
    CeremonyProgress done = core.submitGenerateRootShare(started.nonce(), init.shares().get(4), () -> "t" + ++minted[0]);
    assertTrue(done.complete());
    assertEquals("t1", done.rootToken());
    assertEquals(Kind.FAILED_PRECONDITION,
        kindOf(() -> core.submitGenerateRootShare(started.nonce(), init.shares().get(0), () -> "x")));
  }

  @Test
  void storageHoldsNeitherThePinNorTheSharesNorTheUnsealKey() throws Exception {
    InitResult init = init(5, 3);
    unsealWith(init.shares().subList(0, 3));
    core.shutdown();
    storage.close();
    List<byte[]> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dataDir)) {
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        files.add(Files.readAllBytes(p));
      }
    }
    assertFalse(files.isEmpty());
    List<byte[]> secrets = new ArrayList<>();
    char[] pin = pin();
    if (pin != null) {
      secrets.add(new String(pin).getBytes(StandardCharsets.UTF_8));
    }
    for (String share : init.shares()) {
      secrets.add(share.getBytes(StandardCharsets.US_ASCII));
      UnsealShare decoded = ShareCodec.decode(share);
      secrets.add(decoded.value());
    }
    for (byte[] file : files) {
      for (byte[] secret : secrets) {
        assertEquals(-1, indexOf(file, secret), "a secret was found in storage");
      }
    }
    storage = SqliteStorage.open(dataDir);
    core = newCore();
  }

  @Test
  void aCeremonyInProgressKeepsItsSharesInStorageOnlyWrappedByTheKek() throws Exception {
    InitResult init = init(5, 3);
    unsealWith(init.shares().subList(0, 3));
    CeremonyStarted started = core.startRekey(5, 3, false);
    core.submitRekeyShare(started.nonce(), init.shares().get(0));
    core.submitRekeyShare(started.nonce(), init.shares().get(1));
    byte[] stored = storage.get(StoredCeremony.Kind.REKEY.key()).orElseThrow().value();
    for (String share : init.shares().subList(0, 2)) {
      UnsealShare decoded = ShareCodec.decode(share);
      assertEquals(-1, indexOf(stored, decoded.value()), "a share in the clear");
      String b64 = java.util.Base64.getEncoder().encodeToString(decoded.value());
      assertFalse(new String(stored, StandardCharsets.US_ASCII).contains(b64), "a share in base64");
    }
    restart();
    unsealWith(init.shares().subList(2, 5));
    assertEquals(started.nonce(), core.status().rekeyNonce(), "the ceremony survives a restart");
    assertTrue(core.submitRekeyShare(started.nonce(), init.shares().get(4)).complete(),
        "the stored shares, unwrapped after the restart, count toward K");
  }

  @Test
  void concurrentUseDuringSealNeverSeesGarbageKeys() throws Exception {
    InitResult init = init(1, 1);
    unsealWith(init.shares());
    byte[] expected = core.unsealed().workingKeys().withKey("sys/keys/test", byte[]::clone);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Integer>> results = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      results.add(pool.submit(() -> {
        int ok = 0;
        for (int i = 0; i < 2000; i++) {
          try {
            byte[] seen = core.unsealed().workingKeys().withKey("sys/keys/test", byte[]::clone);
            assertArrayEquals(expected, seen, "a key in use is never zeroized under its user");
            ok++;
          } catch (KeywardenException e) {
            assertEquals(Kind.FAILED_PRECONDITION, e.kind());
          }
        }
        return ok;
      }));
    }
    for (int i = 0; i < 5; i++) {
      Thread.sleep(5);
      core.seal();
      unsealWith(init.shares());
    }
    pool.shutdown();
    assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
    int ok = 0;
    for (Future<Integer> f : results) {
      ok += f.get();
    }
    assertTrue(ok > 0);
  }

  static boolean allZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

}
