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

/** What only SQLite does (files, pragmas, in-process feed); the shared contract is in {@link StorageContractTest}. */
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
  void watchersAreToldBeforeTheWriteReturns() {
    List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (StorageWatch w = storage.watch("k", new StorageListener() {
      @Override
      public void changed(String key) {
        heard.add(key + "=" + new String(storage.get(key).map(StoredEntry::value).orElse(new byte[0]), UTF_8));
      }

      @Override
      public void reset() {
        heard.add("reset");
      }
    })) {
      storage.put("k1", bytes("v1"));
      // delivered after the commit, on the writer's thread, and a listener may read what was committed
      assertEquals(List.of("k1=v1"), heard);
      storage.delete("k1");
      assertEquals(List.of("k1=v1", "k1="), heard);
    }
  }

  @Test
  void aListenerThatWritesIsRefusedInsteadOfDeadlocking() {
    List<Throwable> refused = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (StorageWatch w = storage.watch("a", new StorageListener() {
      @Override
      public void changed(String key) {
        try {
          storage.put("b", bytes("from the listener"));
        } catch (IllegalStateException e) {
          refused.add(e);
        }
      }

      @Override
      public void reset() {}
    })) {
      storage.put("a", bytes("v"));
      assertEquals(1, refused.size());
      assertEquals("do not write to Storage from a StorageListener", refused.get(0).getMessage());
      assertEquals(Optional.empty(), storage.get("b"));
    }
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

  static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }
}
