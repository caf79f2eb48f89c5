package dev.keywarden.storage;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Arrays;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * What went wrong with the database file, in words an operator can act on: a look at the file before SQLite opens
 * it (missing after init, empty, truncated, not a database, unreadable), and SQLite's result codes turned into the
 * same messages (corrupt, not a database, disk full, permission denied) instead of "could not bring the schema up to
 * date". A damaged database is FAILED_PRECONDITION: only restoring it from a backup helps.
 */
final class SqliteFailures {
  /** Every SQLite 3 database file starts with these 16 bytes. */
  private static final byte[] MAGIC = "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER_BYTES = 100;

  private SqliteFailures() {}

  /**
   * Checks {@code file} before SQLite opens it, since SQLite takes a zero-length file for a new database and finds
   * a truncated one only when it reads a missing page. A missing file is fine unless {@code marker} says the data dir
   * was initialized.
   */
  static void checkBeforeOpen(Path file, InitMarker marker) {
    if (!Files.exists(file)) {
      marker.read().ifPresent(r -> {
        throw marker.initializedButEmpty(r, file, "is missing");
      });
      return;
    }
    if (!Files.isRegularFile(file)) {
      throw KeywardenException.precondition("database " + file + " is not a regular file: move it away (if a "
          + "backup of the database exists, restore it there), then start the server again");
    }
    if (!Files.isReadable(file)) {
      throw unreadable(file, "permission denied");
    }
    long size;
    byte[] header = new byte[HEADER_BYTES];
    int read;
    try (InputStream in = Files.newInputStream(file)) {
      size = Files.size(file);
      read = in.readNBytes(header, 0, HEADER_BYTES);
    } catch (java.nio.file.AccessDeniedException e) {
      throw unreadable(file, "permission denied");
    } catch (IOException e) {
      throw unreadable(file, e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
    }
    if (size == 0) {
      marker.read().ifPresent(r -> {
        throw marker.initializedButEmpty(r, file, "is empty (0 bytes)");
      });
      throw KeywardenException.precondition("database " + file + " is empty (0 bytes). If this data dir was ever "
          + "initialized, its database was lost: restore " + file.getFileName() + " from a backup and never run "
          + "`keywarden operator init` over it. If the data dir is new, delete the empty file and start again");
    }
    if (read < MAGIC.length || !Arrays.equals(header, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw damaged(file, "it is not a SQLite database: its first bytes are not SQLite's header");
    }
    if (read < HEADER_BYTES) {
      throw damaged(file, "truncated: " + size + " bytes, shorter than SQLite's " + HEADER_BYTES + "-byte header");
    }
    long expected = expectedSize(header);
    if (expected > size && !hasWal(file)) {
      // with a write-ahead log beside it, SQLite may still complete the file from the log: let it decide
      throw damaged(file, "truncated: " + size + " bytes, but its header says " + expected);
    }
  }

  /** Pages × page size from the header, or 0 when the header's page count is not valid (see SQLite's file format). */
  private static long expectedSize(byte[] header) {
    ByteBuffer b = ByteBuffer.wrap(header);
    int pageSize = Short.toUnsignedInt(b.getShort(16));
    if (pageSize == 1) {
      pageSize = 65536;
    }
    long pages = Integer.toUnsignedLong(b.getInt(28));
    boolean valid = b.getInt(24) == b.getInt(92);
    return valid && pageSize >= 512 ? pages * pageSize : 0;
  }

  private static boolean hasWal(Path file) {
    Path wal = file.resolveSibling(file.getFileName() + "-wal");
    try {
      return Files.exists(wal) && Files.size(wal) > 0;
    } catch (IOException e) {
      return true;
    }
  }

  /**
   * The failure for {@code failure} thrown while opening or migrating {@code file}: a clear message when SQLite's
   * result code says what happened, else {@code fallback} with SQLite's own words.
   */
  static KeywardenException atOpen(Path file, Throwable failure) {
    SQLiteException sqlite = sqliteCause(failure);
    if (sqlite != null) {
      KeywardenException known = known(file, sqlite);
      if (known != null) {
        return known;
      }
    }
    String detail = sqlite != null ? sqlite.getMessage() : failure.getMessage();
    return new KeywardenException(Kind.UNAVAILABLE, "storage error: could not bring the schema of " + file
        + " up to date" + (detail == null ? "" : ": " + detail), failure);
  }

  /** The failure for a statement on an open database; {@code what} is the operation ("committing"). */
  static KeywardenException inUse(Path file, String what, SQLException e) {
    if (e instanceof SQLiteException sqlite) {
      KeywardenException known = known(file, sqlite);
      if (known != null) {
        return new KeywardenException(known.kind(), "storage error: " + what + " failed: " + known.getMessage(), e);
      }
    }
    // sqlite-jdbc messages name the result code and the SQL error, never bound values
    return new KeywardenException(Kind.UNAVAILABLE, "storage error: " + what + " failed: " + e.getMessage(), e);
  }

  /** A clear failure for the result codes that say what happened to the file; null for the others. */
  static KeywardenException known(Path file, SQLiteException e) {
    SQLiteErrorCode code = e.getResultCode();
    if (code == null) {
      return null;
    }
    // the primary code is the low byte of an extended one (SQLITE_IOERR_WRITE, SQLITE_CORRUPT_VTAB, …)
    int primary = code.code & 0xff;
    if (primary == SQLiteErrorCode.SQLITE_NOTADB.code) {
      return damaged(file, "SQLite says it is not a database (SQLITE_NOTADB)");
    }
    if (primary == SQLiteErrorCode.SQLITE_CORRUPT.code) {
      return damaged(file, "SQLite found it corrupt (SQLITE_CORRUPT)");
    }
    if (primary == SQLiteErrorCode.SQLITE_FULL.code) {
      return new KeywardenException(Kind.RESOURCE_EXHAUSTED, "the disk holding " + file + " is full (SQLITE_FULL): "
          + "free some space there; nothing was written by the failed operation", e);
    }
    if (primary == SQLiteErrorCode.SQLITE_PERM.code || primary == SQLiteErrorCode.SQLITE_AUTH.code) {
      return unreadable(file, "permission denied (" + code.name() + ")");
    }
    if (primary == SQLiteErrorCode.SQLITE_READONLY.code) {
      return KeywardenException.precondition("database " + file + " cannot be written (" + code.name() + "): give "
          + "the server's user write access to it, to " + file.getFileName() + "-wal and -shm, and to their directory");
    }
    if (primary == SQLiteErrorCode.SQLITE_CANTOPEN.code) {
      return unreadable(file, "SQLite cannot open it (" + code.name() + ")");
    }
    return null;
  }

  private static KeywardenException damaged(Path file, String how) {
    return KeywardenException.precondition("database " + file + " is damaged: " + how + ". Stop the server and "
        + "restore " + file.getFileName() + " from a backup (keep the damaged file aside; do not run "
        + "`keywarden operator init` over it)");
  }

  private static KeywardenException unreadable(Path file, String why) {
    return KeywardenException.precondition("cannot read database " + file + ": " + why + ". Give the server's user "
        + "read and write access to it, to " + file.getFileName() + "-wal and -shm, and to their directory");
  }

  private static SQLiteException sqliteCause(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SQLiteException s) {
        return s;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return null;
  }
}
