package dev.keywarden.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/** A damaged, empty, lost or unreadable database file is refused at open with a message that says which and what to do. */
class SqliteStorageDamageTest {
  private static final String RESTORE = "Stop the server and restore keywarden.db from a backup (keep the damaged file"
      + " aside; do not run `keywarden operator init` over it)";

  @TempDir Path dataDir;
  private Path db;

  @BeforeEach
  void makeARealDatabase() {
    db = dataDir.toAbsolutePath().normalize().resolve(SqliteStorage.DATABASE_FILE);
    try (SqliteStorage storage = SqliteStorage.open(dataDir)) {
      for (int i = 0; i < 200; i++) {
        storage.put("k/" + i, ("value " + i + " ").repeat(40).getBytes(UTF_8));
      }
    }
    assertFalse(Files.exists(dataDir.resolve(SqliteStorage.DATABASE_FILE + "-wal")), "closing checkpointed the log");
  }

  private KeywardenException openFails() {
    return assertThrows(KeywardenException.class, () -> SqliteStorage.open(dataDir).close());
  }

  @Test
  void aDatabaseTruncatedToHalfIsDamaged() throws Exception {
    long size = Files.size(db);
    try (RandomAccessFile f = new RandomAccessFile(db.toFile(), "rw")) {
      f.setLength(size / 2);
    }
    KeywardenException e = openFails();
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertEquals("database " + db + " is damaged: truncated: " + size / 2 + " bytes, but its header says " + size
        + ". " + RESTORE, e.getMessage());
  }

  @Test
  void aDatabaseTruncatedInsideItsHeaderIsDamaged() throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(db.toFile(), "rw")) {
      f.setLength(50);
    }
    KeywardenException e = openFails();
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertEquals("database " + db + " is damaged: truncated: 50 bytes, shorter than SQLite's 100-byte header. "
        + RESTORE, e.getMessage());
  }

  @Test
  void aHeaderOverwrittenWithGarbageIsNotADatabase() throws Exception {
    byte[] garbage = new byte[100];
    Arrays.fill(garbage, (byte) 0x5a);
    try (RandomAccessFile f = new RandomAccessFile(db.toFile(), "rw")) {
      f.write(garbage);
    }
    KeywardenException e = openFails();
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertEquals("database " + db + " is damaged: it is not a SQLite database: its first bytes are not SQLite's"
        + " header. " + RESTORE, e.getMessage());
  }

  @Test
  void aSchemaPageOverwrittenWithGarbageIsCorrupt() throws Exception {
    // page 1 after the 100-byte file header is the schema table's root: SQLite reads it on open
    byte[] garbage = new byte[1000];
    Arrays.fill(garbage, (byte) 0xa5);
    try (RandomAccessFile f = new RandomAccessFile(db.toFile(), "rw")) {
      f.seek(100);
      f.write(garbage);
    }
    KeywardenException e = openFails();
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertEquals("database " + db + " is damaged: SQLite found it corrupt (SQLITE_CORRUPT). " + RESTORE,
        e.getMessage());
  }

  @Test
  void aZeroLengthDatabaseIsRefusedNotTakenForANewOne() throws Exception {
    Files.write(db, new byte[0]);
    KeywardenException e = openFails();
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertEquals("database " + db + " is empty (0 bytes). If this data dir was ever initialized, its database was"
        + " lost: restore keywarden.db from a backup and never run `keywarden operator init` over it. If the data dir"
        + " is new, delete the empty file and start again", e.getMessage());
    assertEquals(0, Files.size(db), "nothing was written to it");
  }

  @Test
  void aZeroLengthDatabaseInAnInitializedDataDirSaysWhenItWasInitialized() throws Exception {
    Instant at = Instant.parse("2024-05-01T12:00:00Z");
    InitMarker.in(dataDir).write(new InitMarker.Recorded(at, "keywarden-kek-1a2b3c4d", true));
    Files.write(db, new byte[0]);
    KeywardenException e = openFails();
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertEquals("data dir " + db.getParent() + " was initialized on 2024-05-01T12:00:00Z (KEK"
        + " 'keywarden-kek-1a2b3c4d'), but its database " + db + " is empty (0 bytes): restore keywarden.db from a"
        + " backup, then start the server again. Never run `keywarden operator init` over it: a new init makes a new"
        + " KEK, and no key wrapped by the old one could be read again", e.getMessage());
  }

  @Test
  void aMissingDatabaseInAnInitializedDataDirIsNotRecreated() throws Exception {
    InitMarker.in(dataDir).write(new InitMarker.Recorded(Instant.parse("2024-05-01T12:00:00Z"), "kek", true));
    Files.delete(db);
    KeywardenException e = openFails();
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("was initialized on 2024-05-01T12:00:00Z (KEK 'kek'), but its database "
        + db + " is missing: restore keywarden.db from a backup"), e.getMessage());
    assertFalse(Files.exists(db), "no new empty database was made");
  }

  @Test
  void aDirectoryInPlaceOfTheDatabaseIsRefused() throws Exception {
    Files.delete(db);
    Files.createDirectory(db);
    KeywardenException e = openFails();
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().startsWith("database " + db + " is not a regular file: move it away"), e.getMessage());
  }

  @Test
  void anUnreadableDatabaseSaysPermissionDenied() throws Exception {
    Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("---------"));
    try {
      Assumptions.assumeFalse(Files.isReadable(db), "running as root: permissions do not stop reads");
      KeywardenException e = openFails();
      assertEquals(Kind.FAILED_PRECONDITION, e.kind());
      assertTrue(e.getMessage().startsWith("data dir ") || e.getMessage().startsWith("cannot read database " + db
          + ": permission denied. Give the server's user read and write access"), e.getMessage());
    } finally {
      Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("rw-------"));
    }
  }

  @Test
  void sqliteResultCodesBecomeMessagesThatSayWhatHappened() {
    KeywardenException full = SqliteFailures.inUse(db, "committing",
        new SQLiteException("[SQLITE_FULL] database or disk is full", SQLiteErrorCode.SQLITE_FULL));
    assertEquals(Kind.RESOURCE_EXHAUSTED, full.kind());
    assertEquals("storage error: committing failed: the disk holding " + db + " is full (SQLITE_FULL): free some"
        + " space there; nothing was written by the failed operation", full.getMessage());

    KeywardenException corrupt = SqliteFailures.atOpen(db, new RuntimeException("flyway",
        new SQLiteException("[SQLITE_CORRUPT_INDEX] malformed", SQLiteErrorCode.SQLITE_CORRUPT_INDEX)));
    assertEquals(Kind.FAILED_PRECONDITION, corrupt.kind());
    assertEquals("database " + db + " is damaged: SQLite found it corrupt (SQLITE_CORRUPT). " + RESTORE,
        corrupt.getMessage());

    KeywardenException notADb = SqliteFailures.atOpen(db,
        new SQLiteException("[SQLITE_NOTADB] file is not a database", SQLiteErrorCode.SQLITE_NOTADB));
    assertTrue(notADb.getMessage().startsWith("database " + db + " is damaged: SQLite says it is not a database"));

    KeywardenException denied = SqliteFailures.atOpen(db,
        new SQLiteException("[SQLITE_CANTOPEN] unable to open", SQLiteErrorCode.SQLITE_CANTOPEN));
    assertTrue(denied.getMessage().startsWith("cannot read database " + db + ": SQLite cannot open it"));

    KeywardenException other = SqliteFailures.inUse(db, "reading an entry",
        new SQLiteException("[SQLITE_BUSY] database is locked", SQLiteErrorCode.SQLITE_BUSY));
    assertEquals(Kind.UNAVAILABLE, other.kind());
    assertEquals("storage error: reading an entry failed: [SQLITE_BUSY] database is locked", other.getMessage());
  }

  @Test
  void anIntactDatabaseStillOpens() {
    try (SqliteStorage storage = SqliteStorage.open(dataDir)) {
      assertEquals(200, storage.list("k/").size());
    }
  }
}
