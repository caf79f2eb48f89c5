package dev.keywarden.storage;

import static dev.keywarden.testing.Generators.bytes;
import static dev.keywarden.testing.Generators.stringsOver;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.keywarden.failure.KeywardenException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * What every {@link Storage} must do, run against each implementation (SQLite and a real PostgreSQL): versions,
 * compare-and-set, list, delete, transactions, the same answers as the in-memory model for any sequence of operations,
 * concurrent use, and the change feed.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
abstract class StorageContractTest {
  private static final int THREADS = 8;

  protected Storage storage;
  private ExecutorService pool;

  /** A new, empty storage. */
  protected abstract Storage newStorage();

  /** Another Storage over the same data as the last {@link #newStorage()} (after a close: reopening it). */
  protected abstract Storage reopen();

  /** Examples of the model property; each runs up to 40 operations. */
  protected int modelExamples() {
    return 300;
  }

  @BeforeEach
  void openStorage() {
    storage = newStorage();
    pool = Executors.newFixedThreadPool(THREADS);
  }

  @AfterEach
  void closeStorage() throws InterruptedException {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
    storage.close();
  }

  static byte[] bytesOf(String s) {
    return s.getBytes(UTF_8);
  }

  // ---- single operations

  @Test
  void aLongListingIsReadInPagesThatAddUpToIt() {
    for (int i = 0; i < 25; i++) {
      storage.put(String.format("certs/%02x", i), bytesOf("c" + i));
    }
    storage.put("certs-other/x", bytesOf("not under the prefix"));
    storage.put("cert", bytesOf("not under it either"));
    java.util.List<String> all = new java.util.ArrayList<>();
    java.util.List<Integer> sizes = new java.util.ArrayList<>();
    String after = "";
    while (true) {
      java.util.List<String> page = storage.list("certs/", after, 10);
      if (page.isEmpty()) {
        break;
      }
      sizes.add(page.size());
      all.addAll(page);
      after = page.get(page.size() - 1);
    }
    assertEquals(java.util.List.of(10, 10, 5), sizes);
    assertEquals(storage.list("certs/"), all);
    assertEquals(java.util.List.of("certs/17", "certs/18"), storage.list("certs/", "certs/16", 5)); // 25 = 0x00..0x18
    assertEquals(java.util.List.of(), storage.list("certs/", "certs/ff", 10));
    assertEquals(java.util.List.of("certs/00"), storage.atomically(ops -> ops.list("certs/", "", 1)));
    assertThrows(IllegalArgumentException.class, () -> storage.list("certs/", "", 0));
    // an after below the prefix starts the page at the prefix: keys between them do not take its places
    assertEquals(java.util.List.of("certs/00", "certs/01"), storage.list("certs/", "cert", 2));
    assertEquals(java.util.List.of("certs/00"), storage.list("certs/", "a", 1));
    assertEquals(java.util.List.of("certs/18"), storage.atomically(ops -> ops.list("certs/", "certs/17", 3)));
  }

  @Test
  void entriesPageTheValuesAndVersionsInTheListingsOrder() {
    for (int i = 0; i < 25; i++) {
      storage.put(String.format("revoked/%02x", i), bytesOf("r" + i));
    }
    storage.put("revoked/03", bytesOf("r3 again"));
    storage.put("revoked-other/x", bytesOf("not under the prefix"));
    java.util.List<StoredEntry> all = new java.util.ArrayList<>();
    String after = "";
    while (true) {
      java.util.List<StoredEntry> page = storage.entries("revoked/", after, 10);
      assertTrue(page.size() <= 10);
      if (page.isEmpty()) {
        break;
      }
      all.addAll(page);
      after = page.get(page.size() - 1).key();
    }
    assertEquals(storage.list("revoked/"), all.stream().map(StoredEntry::key).toList());
    for (StoredEntry e : all) {
      StoredEntry one = storage.get(e.key()).orElseThrow();
      assertArrayEquals(one.value(), e.value(), e.key());
      assertEquals(one.version(), e.version(), e.key());
    }
    assertEquals("r3 again", new String(all.get(3).value(), java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(java.util.List.of("revoked/18"),
        storage.atomically(ops -> ops.entries("revoked/", "revoked/17", 3)).stream().map(StoredEntry::key).toList());
    assertThrows(IllegalArgumentException.class, () -> storage.entries("revoked/", "", 0));
  }

  @Test
  void putThenGetRoundTrips() {
    storage.put("a", bytesOf("one"));
    StoredEntry entry = storage.get("a").orElseThrow();
    assertEquals("a", entry.key());
    assertArrayEquals(bytesOf("one"), entry.value());
    assertEquals(1, entry.version());
    assertEquals(Optional.empty(), storage.get("b"));
  }

  @Test
  void emptyAndBinaryValuesRoundTrip() {
    byte[] binary = new byte[256];
    for (int i = 0; i < binary.length; i++) {
      binary[i] = (byte) i;
    }
    storage.put("empty", new byte[0]);
    storage.put("binary", binary);
    assertArrayEquals(new byte[0], storage.get("empty").orElseThrow().value());
    assertArrayEquals(binary, storage.get("binary").orElseThrow().value());
  }

  @Test
  void everyWriteRaisesTheVersionByOne() {
    storage.put("k", bytesOf("1"));
    storage.put("k", bytesOf("2"));
    assertTrue(storage.compareAndSet("k", 2, bytesOf("3")));
    storage.put("k", bytesOf("4"));
    StoredEntry entry = storage.get("k").orElseThrow();
    assertEquals(4, entry.version());
    assertArrayEquals(bytesOf("4"), entry.value());
  }

  @Test
  void compareAndSetWritesOnlyOnTheExpectedVersion() {
    assertTrue(storage.compareAndSet("k", 0, bytesOf("first")));
    assertFalse(storage.compareAndSet("k", 0, bytesOf("again")));
    assertFalse(storage.compareAndSet("k", 2, bytesOf("future")));
    assertTrue(storage.compareAndSet("k", 1, bytesOf("second")));
    assertFalse(storage.compareAndSet("k", 1, bytesOf("stale")));
    StoredEntry entry = storage.get("k").orElseThrow();
    assertEquals(2, entry.version());
    assertArrayEquals(bytesOf("second"), entry.value());
  }

  @Test
  void compareAndSetOnAnAbsentKeyNeedsZero() {
    assertFalse(storage.compareAndSet("missing", 1, bytesOf("x")));
    assertEquals(Optional.empty(), storage.get("missing"));
    assertThrows(IllegalArgumentException.class, () -> storage.compareAndSet("missing", -1, bytesOf("x")));
  }

  @Test
  void deleteSaysWhetherTheKeyExisted() {
    storage.put("k", bytesOf("v"));
    assertTrue(storage.delete("k"));
    assertFalse(storage.delete("k"));
    assertEquals(Optional.empty(), storage.get("k"));
    // a recreated key starts again at version 1
    storage.put("k", bytesOf("v"));
    assertEquals(1, storage.get("k").orElseThrow().version());
  }

  @Test
  void listMatchesThePrefixLiterally() {
    List<String> keys = List.of("a%b", "a%c", "axb", "a_b", "a_", "azb", "a\\b", "a\\\\", "ab", "a", "b%", "",
        "é/1", "é/2", "e/1", "😀/1", "😀", "\uE000", "key/😀", "key/\uFFFF", "key/\uE000");
    for (String key : keys) {
      storage.put(key, bytesOf(key));
    }
    assertEquals(List.of("a%b", "a%c"), storage.list("a%"));
    assertEquals(List.of("a_", "a_b"), storage.list("a_"));
    assertEquals(List.of("a\\\\", "a\\b"), storage.list("a\\"));
    assertEquals(List.of("a\\\\"), storage.list("a\\\\"));
    assertEquals(List.of("é/1", "é/2"), storage.list("é"));
    assertEquals(List.of("😀", "😀/1"), storage.list("😀"));
    assertEquals(List.of("key/😀", "key/\uE000", "key/\uFFFF"), storage.list("key/"));
    assertEquals(List.of(), storage.list("zzz"));
    List<String> all = storage.list("");
    assertEquals(keys.stream().sorted().toList(), all);
    assertEquals(List.of("a", "a%b", "a%c", "a\\\\", "a\\b", "a_", "a_b", "ab", "axb", "azb"), storage.list("a"));
  }

  @Test
  void listWithTheHighestCodePointHasNoUpperBound() {
    String max = new String(Character.toChars(Character.MAX_CODE_POINT));
    storage.put(max, bytesOf("1"));
    storage.put(max + "x", bytesOf("2"));
    storage.put("a", bytesOf("3"));
    assertEquals(List.of(max, max + "x"), storage.list(max));
  }

  @Test
  void keysThatCannotBeStoredFaithfullyAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> storage.put("a\u0000b", bytesOf("x")));
    assertThrows(IllegalArgumentException.class, () -> storage.put("a\uD800", bytesOf("x")));
    assertThrows(IllegalArgumentException.class, () -> storage.get("\uDC00b"));
    assertThrows(NullPointerException.class, () -> storage.put(null, bytesOf("x")));
    assertThrows(NullPointerException.class, () -> storage.put("k", null));
  }

  @Test
  void longKeysAndValuesRoundTrip() {
    String key = "long/" + "é".repeat(5_000);
    byte[] value = new byte[1 << 20];
    new Random(1).nextBytes(value);
    storage.put(key, value);
    assertArrayEquals(value, storage.get(key).orElseThrow().value());
    assertEquals(List.of(key), storage.list("long/"));
  }

  // ---- transactions

  @Test
  void atomicallyCommitsEverythingOnReturn() {
    storage.put("from", bytesOf("10"));
    String result = storage.atomically(ops -> {
      ops.put("a", bytesOf("1"));
      ops.put("b", bytesOf("2"));
      assertTrue(ops.delete("from"));
      assertTrue(ops.compareAndSet("c", 0, bytesOf("3")));
      assertEquals(List.of("a", "b", "c"), ops.list(""));
      return "done";
    });
    assertEquals("done", result);
    assertEquals(List.of("a", "b", "c"), storage.list(""));
  }

  @Test
  void aThrowingTransactionLeavesNothingWritten() {
    storage.put("existing", bytesOf("before"));
    IllegalStateException thrown = new IllegalStateException("boom");
    IllegalStateException caught = assertThrows(IllegalStateException.class, () -> storage.atomically(ops -> {
      ops.put("new1", bytesOf("x"));
      ops.put("existing", bytesOf("after"));
      ops.compareAndSet("new2", 0, bytesOf("y"));
      ops.delete("existing");
      ops.put("new3", bytesOf("z"));
      throw thrown;
    }));
    assertSame(thrown, caught);
    assertEquals(0, caught.getSuppressed().length);
    assertEquals(List.of("existing"), storage.list(""));
    StoredEntry existing = storage.get("existing").orElseThrow();
    assertArrayEquals(bytesOf("before"), existing.value());
    assertEquals(1, existing.version());
    // the storage is usable afterwards
    storage.atomically(ops -> {
      ops.put("new1", bytesOf("x"));
      return null;
    });
    assertEquals(List.of("existing", "new1"), storage.list(""));
  }

  @Test
  void checkedExceptionsAndErrorsAlsoRollBack() {
    assertThrows(AssertionError.class, () -> storage.atomically(ops -> {
      ops.put("k", bytesOf("x"));
      throw new AssertionError("error");
    }));
    assertEquals(List.of(), storage.list(""));
  }

  @Test
  void callingTheOuterStorageInsideATransactionIsRefused() {
    assertThrows(IllegalStateException.class, () -> storage.atomically(ops -> storage.get("k")));
    assertThrows(IllegalStateException.class, () -> storage.atomically(ops -> storage.atomically(o -> null)));
  }

  @Test
  void transactionOpsDoNotOutliveTheirTransaction() {
    StorageOps[] leaked = new StorageOps[1];
    storage.atomically(ops -> {
      leaked[0] = ops;
      return null;
    });
    assertThrows(IllegalStateException.class, () -> leaked[0].put("k", bytesOf("v")));
    assertEquals(List.of(), storage.list(""));
  }

  @Test
  void dataSurvivesCloseAndReopen() {
    storage.put("k", bytesOf("v1"));
    storage.put("k", bytesOf("v2"));
    storage.atomically(ops -> {
      ops.put("t", bytesOf("tx"));
      return null;
    });
    storage.close();
    storage = reopen();
    StoredEntry entry = storage.get("k").orElseThrow();
    assertArrayEquals(bytesOf("v2"), entry.value());
    assertEquals(2, entry.version());
    assertArrayEquals(bytesOf("tx"), storage.get("t").orElseThrow().value());
  }

  @Test
  void closeIsIdempotentAndLaterCallsFailClearly() {
    storage.close();
    storage.close();
    KeywardenException e = assertThrows(KeywardenException.class, () -> storage.get("k"));
    assertEquals(KeywardenException.Kind.UNAVAILABLE, e.kind());
    assertEquals("storage error: storage is closed", e.getMessage());
    assertEquals(KeywardenException.Kind.UNAVAILABLE,
        assertThrows(KeywardenException.class, () -> storage.put("k", bytesOf("v"))).kind());
  }

  @Test
  void toStringShowsNoValues() {
    storage.put("k", bytesOf("secret-value"));
    String text = storage.get("k").orElseThrow().toString();
    assertFalse(text.contains("secret-value"));
  }

  // ---- the in-memory model

  /** One operation; applied to both stores, it must give the same answer. */
  sealed interface Op {
    Object apply(StorageOps s);
  }

  record Put(String key, byte[] value) implements Op {
    public Object apply(StorageOps s) {
      s.put(key, value);
      return null;
    }

    @Override
    public String toString() {
      return "Put[key=" + key + ", value=0x" + HexFormat.of().formatHex(value) + "]";
    }
  }

  record Cas(String key, long expected, byte[] value) implements Op {
    public Object apply(StorageOps s) {
      return s.compareAndSet(key, expected, value);
    }

    @Override
    public String toString() {
      return "Cas[key=" + key + ", expected=" + expected + ", value=0x" + HexFormat.of().formatHex(value) + "]";
    }
  }

  record Delete(String key) implements Op {
    public Object apply(StorageOps s) {
      return s.delete(key);
    }
  }

  record Get(String key) implements Op {
    public Object apply(StorageOps s) {
      Optional<StoredEntry> e = s.get(key);
      return e.map(x -> x.version() + ":" + HexFormat.of().formatHex(x.value())).orElse("absent");
    }
  }

  record ListPrefix(String prefix) implements Op {
    public Object apply(StorageOps s) {
      return s.list(prefix);
    }
  }

  /** A few ops in one transaction; if {@code fail}, it throws at the end and must leave nothing behind. */
  record Tx(List<Op> ops, boolean fail) implements Op {
    public Object apply(StorageOps s) {
      throw new UnsupportedOperationException("applied by the property");
    }
  }

  private static Gen<String> keys() {
    // a small alphabet so that keys collide, with LIKE wildcards, escapes and characters whose UTF-16 and UTF-8
    // orders differ
    Gen<String> plain = stringsOver("ab%_\\/\u00e9\uE000\uFFFF", 0, 3);
    return Generate.frequency(
        Pair.of(8, plain),
        Pair.of(1, Generate.pick(List.of("\uD83D\uDE00", "a\uD83D\uDE00", "\uD83D\uDE00a", "a\uD83D\uDE00b"))));
  }

  private static Gen<List<Op>> sequences() {
    return lists().of(ops()).ofSizeBetween(0, 40);
  }

  private static Gen<Op> ops() {
    Gen<Op> simple = simpleOps();
    Gen<Op> tx = lists().of(simple).ofSizeBetween(0, 5).zip(booleans().all(), Tx::new);
    return Generate.frequency(
        Pair.of(10, simple),
        Pair.of(2, tx));
  }

  @SuppressWarnings("unchecked")
  private static Gen<Op> simpleOps() {
    Gen<String> key = keys();
    Gen<byte[]> value = bytes(0, 6);
    Gen<Long> version = longs().between(0, 4);
    return Generate.oneOf(
        key.zip(value, Put::new),
        key.zip(version, value, Cas::new),
        key.map(Delete::new),
        key.map(Get::new),
        key.map(ListPrefix::new));
  }

  @Test
  void behavesLikeTheInMemoryModel() {
    qt().withExamples(modelExamples()).forAll(sequences()).checkAssert(ops -> {
      storage.atomically(tx -> {
        tx.list("").forEach(tx::delete);
        return null;
      });
      InMemoryStorage model = new InMemoryStorage();
      for (Op op : ops) {
        if (op instanceof Tx tx) {
          Object expected = runTx(model, tx);
          Object actual = runTx(storage, tx);
          assertEquals(expected, actual, "transaction " + tx);
        } else {
          assertEquals(op.apply(model), op.apply(storage), op.toString());
        }
      }
      List<String> keys = model.list("");
      assertEquals(keys, storage.list(""));
      for (String key : keys) {
        StoredEntry expected = model.get(key).orElseThrow();
        StoredEntry actual = storage.get(key).orElseThrow();
        assertEquals(expected.version(), actual.version(), key);
        assertArrayEquals(expected.value(), actual.value(), key);
      }
    });
  }

  private static Object runTx(Storage s, Tx tx) {
    try {
      return s.atomically(ops -> {
        List<Object> results = tx.ops().stream().map(op -> op.apply(ops)).toList();
        if (tx.fail()) {
          throw new IllegalStateException("rolled back");
        }
        return results.toString();
      });
    } catch (IllegalStateException e) {
      return "rolled back";
    }
  }

  // ---- concurrency

  @Test
  void compareAndSetIncrementsFromManyThreadsLoseNothing() throws Exception {
    int perThread = 100;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Integer>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      results.add(pool.submit(() -> {
        start.await();
        int conflicts = 0;
        for (int i = 0; i < perThread; i++) {
          while (true) {
            Optional<StoredEntry> current = storage.get("counter");
            long version = current.map(StoredEntry::version).orElse(0L);
            long count = current.map(e -> decode(e)).orElse(0L);
            if (storage.compareAndSet("counter", version, encode(count + 1))) {
              break;
            }
            conflicts++;
          }
        }
        return conflicts;
      }));
    }
    start.countDown();
    for (Future<Integer> result : results) {
      result.get();
    }
    StoredEntry counter = storage.get("counter").orElseThrow();
    assertEquals(THREADS * perThread, decode(counter));
    assertEquals(THREADS * perThread, counter.version());
  }

  @Test
  void readModifyWriteInsideTransactionsLosesNothing() throws Exception {
    // a get then a blind put inside atomically(): correct only if concurrent transactions are serialized
    int perThread = 50;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      results.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < perThread; i++) {
          storage.atomically(ops -> {
            long n = ops.get("counter").map(StorageContractTest::decode).orElse(0L);
            ops.put("counter", encode(n + 1));
            return null;
          });
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> result : results) {
      result.get();
    }
    assertEquals(THREADS * perThread, decode(storage.get("counter").orElseThrow()));
  }

  @Test
  void concurrentTransfersKeepTheSumConstant() throws Exception {
    storage.put("account/a", encode(1000));
    storage.put("account/b", encode(1000));
    AtomicBoolean torn = new AtomicBoolean();
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      long seed = t;
      results.add(pool.submit(() -> {
        start.await();
        Random random = new Random(seed);
        for (int i = 0; i < 100; i++) {
          int amount = random.nextInt(50) - 25;
          boolean fail = random.nextInt(5) == 0;
          try {
            storage.atomically(ops -> {
              long a = decode(ops.get("account/a").orElseThrow());
              ops.put("account/a", encode(a - amount));
              long b = decode(ops.get("account/b").orElseThrow());
              if (fail) {
                throw new IllegalStateException("abandoned transfer");
              }
              ops.put("account/b", encode(b + amount));
              return null;
            });
          } catch (IllegalStateException expected) {
            // rolled back: the half-done transfer must not show
          }
          long sum = storage.atomically(ops ->
              decode(ops.get("account/a").orElseThrow()) + decode(ops.get("account/b").orElseThrow()));
          if (sum != 2000) {
            torn.set(true);
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> result : results) {
      result.get();
    }
    assertFalse(torn.get(), "a reader saw a half-done transfer");
    assertEquals(2000, decode(storage.get("account/a").orElseThrow()) + decode(storage.get("account/b").orElseThrow()));
  }

  @Test
  void readersAndWritersOnManyKeysDoNotFail() throws Exception {
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      results.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < 100; i++) {
          String key = "t" + thread + "/" + i;
          storage.put(key, encode(i));
          storage.list("t" + thread + "/");
          assertEquals(i, decode(storage.get(key).orElseThrow()));
          if (i % 3 == 0) {
            assertTrue(storage.delete(key));
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> result : results) {
      result.get();
    }
    for (int t = 0; t < THREADS; t++) {
      assertEquals(66, storage.list("t" + t + "/").size());
    }
  }

  @Test
  void concurrentWritersEachGetTheirOwnOutcome() throws Exception {
    int perThread = 20;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      results.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < perThread; i++) {
          String key = "w/" + thread + "/" + i;
          boolean fails = i % 5 == 0;
          try {
            storage.atomically(ops -> {
              ops.put(key, bytesOf("v"));
              sleep(2); // a write that takes a while: others run (or queue) beside it
              if (fails) {
                throw new IllegalArgumentException("refused " + key);
              }
              return null;
            });
            assertFalse(fails, key + " should have failed");
          } catch (IllegalArgumentException e) {
            assertEquals("refused " + key, e.getMessage(), "each caller gets its own failure");
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> f : results) {
      f.get();
    }
    for (int t = 0; t < THREADS; t++) {
      for (int i = 0; i < perThread; i++) {
        assertEquals(i % 5 != 0, storage.get("w/" + t + "/" + i).isPresent(), "w/" + t + "/" + i);
      }
    }
  }

  @Test
  void manyThreadsWritingAtOnceAllLand() throws Exception {
    // also prints one thread's and several threads' write rates: SQLite's group commit shows here (see README)
    int writes = 400;
    long started = System.nanoTime();
    for (int i = 0; i < writes; i++) {
      storage.put("seq/" + i, encode(i));
    }
    double sequential = writes / seconds(started);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      results.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < writes / THREADS; i++) {
          storage.put("par/" + thread + "/" + i, encode(i));
        }
        return null;
      }));
    }
    started = System.nanoTime();
    start.countDown();
    for (Future<?> f : results) {
      f.get();
    }
    double concurrent = writes / seconds(started);
    System.out.printf("%s: %d writes, one thread: %.0f/s; %d threads: %.0f/s (%.1fx)%n", storage.kind(), writes,
        sequential, THREADS, concurrent, concurrent / sequential);
    assertEquals(writes, storage.list("par/").size());
  }

  private static double seconds(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1e9;
  }

  @Test
  void readsDoNotWaitForAWriteInProgressAndSeeOnlyCommittedValues() throws Exception {
    storage.put("k", bytesOf("old"));
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch readDone = new CountDownLatch(1);
    Future<?> writer = pool.submit(() -> storage.atomically(ops -> {
      ops.put("k", bytesOf("new"));
      writing.countDown();
      try {
        // the transaction stays open until the reader has read; if reads waited for writes this would time out
        assertTrue(readDone.await(30, TimeUnit.SECONDS), "the read never finished while a write was open");
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      return null;
    }));
    assertTrue(writing.await(30, TimeUnit.SECONDS));
    Future<String> read = pool.submit(() -> new String(storage.get("k").orElseThrow().value(), UTF_8));
    assertEquals("old", read.get(30, TimeUnit.SECONDS));
    readDone.countDown();
    writer.get(30, TimeUnit.SECONDS);
    assertEquals("new", new String(storage.get("k").orElseThrow().value(), UTF_8));
  }

  // ---- the change feed

  /** Records what a watcher was told, in order: "key" per change, "RESET" per reset. */
  static final class Recorder implements StorageListener {
    static final String RESET = "RESET";
    final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();

    @Override
    public void changed(String key) {
      events.add(key);
    }

    @Override
    public void reset() {
      events.add(RESET);
    }

    /** Events until (and without) {@code last}; fails if it does not come within 10 s. */
    List<String> until(String last) throws InterruptedException {
      List<String> seen = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        String e = events.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (e == null) {
          throw new AssertionError("'" + last + "' never came; got " + seen);
        }
        if (e.equals(last)) {
          return seen;
        }
        seen.add(e);
      }
    }
  }

  @Test
  void committedWritesReachTheWatchersOfTheirPrefixOnly() throws Exception {
    Recorder a = new Recorder();
    Recorder all = new Recorder();
    Recorder other = new Recorder();
    try (StorageWatch wa = storage.watch("a/", a); StorageWatch wall = storage.watch("", all);
        StorageWatch wo = storage.watch("c/", other)) {
      assertTrue(wa.live());
      storage.put("a/1", bytesOf("v"));
      assertTrue(storage.compareAndSet("a/2", 0, bytesOf("v")));
      assertFalse(storage.compareAndSet("a/2", 5, bytesOf("lost")));
      assertTrue(storage.delete("a/1"));
      assertFalse(storage.delete("a/absent"));
      storage.atomically(ops -> {
        ops.put("a/3", bytesOf("v"));
        ops.put("b/1", bytesOf("v"));
        assertFalse(ops.compareAndSet("a/3", 7, bytesOf("lost")));
        ops.delete("a/2");
        return null;
      });
      storage.put("end", bytesOf("v"));
      assertEquals(List.of("a/1", "a/2", "a/1", "a/3", "b/1", "a/2"), all.until("end"));
      // "end" reached the catch-all watcher, and deliveries are in commit order: everything before it has arrived
      assertEquals(List.of("a/1", "a/2", "a/1", "a/3", "a/2"), List.copyOf(a.events));
      assertEquals(List.of(), List.copyOf(other.events));
    }
  }

  @Test
  void aRolledBackTransactionDeliversNothing() throws Exception {
    Recorder all = new Recorder();
    try (StorageWatch w = storage.watch("", all)) {
      assertThrows(IllegalStateException.class, () -> storage.atomically(ops -> {
        ops.put("a/1", bytesOf("v"));
        ops.delete("a/1");
        throw new IllegalStateException("rolled back");
      }));
      storage.put("end", bytesOf("v"));
      assertEquals(List.of(), all.until("end"));
    }
  }

  @Test
  void aClosedWatchHearsNothingMore() throws Exception {
    Recorder closed = new Recorder();
    Recorder all = new Recorder();
    try (StorageWatch w = storage.watch("", all)) {
      StorageWatch gone = storage.watch("", closed);
      storage.put("first", bytesOf("v"));
      assertEquals(List.of(), all.until("first"));
      // watchers hear a change one after another: wait until this one did before closing it
      assertEquals(List.of(), closed.until("first"));
      gone.close();
      assertFalse(gone.live());
      storage.put("second", bytesOf("v"));
      assertEquals(List.of(), all.until("second"));
      assertEquals(List.of(), List.copyOf(closed.events), "a closed watch heard a change");
    }
  }

  @Test
  void aFailingListenerDoesNotStopTheOthers() throws Exception {
    Recorder all = new Recorder();
    StorageListener failing = new StorageListener() {
      @Override
      public void changed(String key) {
        throw new IllegalStateException("listener bug");
      }

      @Override
      public void reset() {}
    };
    try (StorageWatch bad = storage.watch("", failing); StorageWatch w = storage.watch("", all)) {
      storage.put("one", bytesOf("v"));
      storage.put("two", bytesOf("v"));
      assertEquals(List.of("one"), all.until("two"));
      assertEquals("x", storage.atomically(ops -> "x"), "the storage still works");
    }
  }

  static byte[] encode(long n) {
    return Long.toString(n).getBytes(UTF_8);
  }

  static long decode(StoredEntry entry) {
    return Long.parseLong(new String(entry.value(), UTF_8));
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
