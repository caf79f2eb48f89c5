package dev.keywarden.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteStorageTest {

  @TempDir Path dataDir;
  private SqliteStorage storage;

  @BeforeEach
  void open() {
    storage = SqliteStorage.open(dataDir);
  }

  @AfterEach
  void close() {
    storage.close();
  }

  @Test
  void putThenGetRoundTrips() {
    storage.put("a", bytes("one"));
    StoredEntry entry = storage.get("a").orElseThrow();
    assertEquals("a", entry.key());
    assertArrayEquals(bytes("one"), entry.value());
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
    storage.put("k", bytes("1"));
    storage.put("k", bytes("2"));
    assertTrue(storage.compareAndSet("k", 2, bytes("3")));
    storage.put("k", bytes("4"));
    StoredEntry entry = storage.get("k").orElseThrow();
    assertEquals(4, entry.version());
    assertArrayEquals(bytes("4"), entry.value());
  }

  @Test
  void compareAndSetWritesOnlyOnTheExpectedVersion() {
    assertTrue(storage.compareAndSet("k", 0, bytes("first")));
    assertFalse(storage.compareAndSet("k", 0, bytes("again")));
    assertFalse(storage.compareAndSet("k", 2, bytes("future")));
    assertTrue(storage.compareAndSet("k", 1, bytes("second")));
    assertFalse(storage.compareAndSet("k", 1, bytes("stale")));
    StoredEntry entry = storage.get("k").orElseThrow();
    assertEquals(2, entry.version());
    assertArrayEquals(bytes("second"), entry.value());
  }

  @Test
  void compareAndSetOnAnAbsentKeyNeedsZero() {
    assertFalse(storage.compareAndSet("missing", 1, bytes("x")));
    assertEquals(Optional.empty(), storage.get("missing"));
    assertThrows(IllegalArgumentException.class, () -> storage.compareAndSet("missing", -1, bytes("x")));
  }

  @Test
  void deleteSaysWhetherTheKeyExisted() {
    storage.put("k", bytes("v"));
    assertTrue(storage.delete("k"));
    assertFalse(storage.delete("k"));
    assertEquals(Optional.empty(), storage.get("k"));
    // a recreated key starts again at version 1
    storage.put("k", bytes("v"));
    assertEquals(1, storage.get("k").orElseThrow().version());
  }

  @Test
  void listMatchesThePrefixLiterally() {
    List<String> keys = List.of("a%b", "a%c", "axb", "a_b", "a_", "azb", "a\\b", "a\\\\", "ab", "a", "b%", "",
        "é/1", "é/2", "e/1", "😀/1", "😀", "\uE000", "key/😀", "key/\uFFFF", "key/\uE000");
    for (String key : keys) {
      storage.put(key, bytes(key));
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
    storage.put(max, bytes("1"));
    storage.put(max + "x", bytes("2"));
    storage.put("a", bytes("3"));
    assertEquals(List.of(max, max + "x"), storage.list(max));
  }

  @Test
  void keysThatCannotBeStoredFaithfullyAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> storage.put("a\u0000b", bytes("x")));
    assertThrows(IllegalArgumentException.class, () -> storage.put("a\uD800", bytes("x")));
    assertThrows(IllegalArgumentException.class, () -> storage.get("\uDC00b"));
    assertThrows(NullPointerException.class, () -> storage.put(null, bytes("x")));
    assertThrows(NullPointerException.class, () -> storage.put("k", null));
  }

  @Test
  void atomicallyCommitsEverythingOnReturn() {
    storage.put("from", bytes("10"));
    String result = storage.atomically(ops -> {
      ops.put("a", bytes("1"));
      ops.put("b", bytes("2"));
      assertTrue(ops.delete("from"));
      assertTrue(ops.compareAndSet("c", 0, bytes("3")));
      assertEquals(List.of("a", "b", "c"), ops.list(""));
      return "done";
    });
    assertEquals("done", result);
    assertEquals(List.of("a", "b", "c"), storage.list(""));
  }

  @Test
  void aThrowingTransactionLeavesNothingWritten() {
    storage.put("existing", bytes("before"));
    IllegalStateException thrown = new IllegalStateException("boom");
    IllegalStateException caught = assertThrows(IllegalStateException.class, () -> storage.atomically(ops -> {
      ops.put("new1", bytes("x"));
      ops.put("existing", bytes("after"));
      ops.compareAndSet("new2", 0, bytes("y"));
      ops.delete("existing");
      ops.put("new3", bytes("z"));
      throw thrown;
    }));
    assertSame(thrown, caught);
    assertEquals(0, caught.getSuppressed().length);
    assertEquals(List.of("existing"), storage.list(""));
    StoredEntry existing = storage.get("existing").orElseThrow();
    assertArrayEquals(bytes("before"), existing.value());
    assertEquals(1, existing.version());
    // the storage is usable afterwards
    storage.atomically(ops -> {
      ops.put("new1", bytes("x"));
      return null;
    });
    assertEquals(List.of("existing", "new1"), storage.list(""));
  }

  @Test
  void checkedExceptionsAndErrorsAlsoRollBack() {
    assertThrows(AssertionError.class, () -> storage.atomically(ops -> {
      ops.put("k", bytes("x"));
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
    assertThrows(IllegalStateException.class, () -> leaked[0].put("k", bytes("v")));
    assertEquals(List.of(), storage.list(""));
  }

  @Test
  void dataSurvivesCloseAndReopen() {
    storage.put("k", bytes("v1"));
    storage.put("k", bytes("v2"));
    storage.atomically(ops -> {
      ops.put("t", bytes("tx"));
      return null;
    });
    storage.close();
    storage = SqliteStorage.open(dataDir);
    StoredEntry entry = storage.get("k").orElseThrow();
    assertArrayEquals(bytes("v2"), entry.value());
    assertEquals(2, entry.version());
    assertArrayEquals(bytes("tx"), storage.get("t").orElseThrow().value());
  }

  @Test
  void closeIsIdempotentAndLaterCallsFailClearly() {
    storage.close();
    storage.close();
    KeywardenException e = assertThrows(KeywardenException.class, () -> storage.get("k"));
    assertEquals(KeywardenException.Kind.UNAVAILABLE, e.kind());
    assertEquals("storage error: storage is closed", e.getMessage());
  }

  @Test
  void kindIsSqlite() {
    assertEquals("sqlite", storage.kind());
  }

  @Test
  void openCreatesMissingDirectories() {
    Path nested = dataDir.resolve("a/b/c");
    try (SqliteStorage other = SqliteStorage.open(nested)) {
      other.put("k", bytes("v"));
    }
    assertTrue(Files.isRegularFile(nested.resolve("keywarden.db")));
  }

  @Test
  void connectionSyncsEveryCommitAndWaitsWhenBusy() {
    assertEquals("wal", storage.pragma("journal_mode"));
    assertEquals("2", storage.pragma("synchronous"), "FULL");
    assertEquals("1", storage.pragma("foreign_keys"));
    assertEquals("30000", storage.pragma("busy_timeout"));
  }

  @Test
  void databaseUsesWalFullSyncAndTheMigratedSchema() throws Exception {
    storage.put("k", bytes("v"));
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("keywarden.db"));
        Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("PRAGMA journal_mode")) {
        rs.next();
        assertEquals("wal", rs.getString(1));
      }
      try (ResultSet rs = s.executeQuery("SELECT version, success FROM flyway_schema_history WHERE version = '1'")) {
        assertTrue(rs.next());
        assertTrue(rs.getBoolean(2));
      }
      try (ResultSet rs = s.executeQuery("SELECT version FROM kv WHERE key = 'k'")) {
        assertTrue(rs.next());
        assertEquals(1, rs.getLong(1));
      }
    }
  }

  @Test
  void aDataDirUnderARegularFileIsNotWritable() throws Exception {
    Path file = Files.writeString(dataDir.resolve("plain-file"), "x");
    Path bad = file.resolve("data");
    KeywardenException e = assertThrows(KeywardenException.class, () -> SqliteStorage.open(bad));
    assertEquals(KeywardenException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().startsWith("data dir " + bad.toAbsolutePath() + " is not writable: "), e.getMessage());
  }

  @Test
  void aRegularFileAsDataDirIsNotWritable() throws Exception {
    Path file = Files.writeString(dataDir.resolve("plain-file"), "x");
    KeywardenException e = assertThrows(KeywardenException.class, () -> SqliteStorage.open(file));
    assertEquals(KeywardenException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().startsWith("data dir " + file.toAbsolutePath() + " is not writable: "), e.getMessage());
  }

  @Test
  void aReadOnlyDataDirIsNotWritable() throws Exception {
    Path readOnly = Files.createDirectory(dataDir.resolve("read-only"));
    Files.setPosixFilePermissions(readOnly, java.nio.file.attribute.PosixFilePermissions.fromString("r-x------"));
    try {
      org.junit.jupiter.api.Assumptions.assumeFalse(Files.isWritable(readOnly),
          "running as root: permissions do not stop writes (covered by the regular-file tests)");
      KeywardenException e = assertThrows(KeywardenException.class, () -> SqliteStorage.open(readOnly));
      assertEquals(KeywardenException.Kind.FAILED_PRECONDITION, e.kind());
      assertEquals("data dir " + readOnly.toAbsolutePath() + " is not writable: permission denied", e.getMessage());
    } finally {
      Files.setPosixFilePermissions(readOnly, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    }
  }

  @Test
  void toStringShowsNoValues() {
    storage.put("k", bytes("secret-value"));
    String text = storage.get("k").orElseThrow().toString();
    assertFalse(text.contains("secret-value"));
  }

  static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }
}
