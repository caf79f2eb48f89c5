package dev.keywarden.storage;

import dev.keywarden.failure.KeywardenException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * {@link Storage} in one SQLite file, {@code <dataDir>/keywarden.db}, in WAL mode with an fsync on every commit.
 *
 * <p>One connection serves all callers, one at a time, behind a lock: the service's write rate is small, and this
 * way no caller ever sees SQLITE_BUSY from its own process. The busy timeout covers other processes (e.g. an
 * operator tool) opening the same file.
 */
public final class SqliteStorage implements Storage {

  /** Name of the database file inside the data dir. */
  public static final String DATABASE_FILE = "keywarden.db";

  private static final Logger log = LoggerFactory.getLogger(SqliteStorage.class);
  private static final int BUSY_TIMEOUT_MILLIS = 30_000;
  private static final String MIGRATIONS = "classpath:db/migration/sqlite";

  private final ReentrantLock lock = new ReentrantLock();
  private final Path databaseFile;
  private final Connection connection;
  private final StorageOps direct;
  private boolean closed;

  private SqliteStorage(Path databaseFile, Connection connection) {
    this.databaseFile = databaseFile;
    this.connection = connection;
    this.direct = new ConnectionOps(connection);
  }

  /** Opens (creating if needed) the database in {@code dataDir} and brings its schema up to date. */
  public static SqliteStorage open(Path dataDir) {
    Path dir = dataDir.toAbsolutePath().normalize();
    checkWritable(dir);
    Path file = dir.resolve(DATABASE_FILE);
    SQLiteDataSource dataSource = dataSource(file);
    try {
      Flyway.configure()
          .dataSource(dataSource)
          .locations(MIGRATIONS)
          .load()
          .migrate();
    } catch (FlywayException e) {
      throw new KeywardenException(KeywardenException.Kind.UNAVAILABLE,
          "storage error: could not bring the schema of " + file + " up to date", e);
    }
    Connection connection;
    try {
      connection = dataSource.getConnection();
    } catch (SQLException e) {
      throw storageError("opening " + file, e);
    }
    log.info("opened SQLite storage at {}", file);
    return new SqliteStorage(file, connection);
  }

  private static SQLiteDataSource dataSource(Path file) {
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    // FULL: the WAL is fsynced on every commit, so an acknowledged write survives power loss
    config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
    config.setBusyTimeout(BUSY_TIMEOUT_MILLIS);
    config.enforceForeignKeys(true);
    SQLiteDataSource dataSource = new SQLiteDataSource(config);
    dataSource.setUrl("jdbc:sqlite:" + file);
    return dataSource;
  }

  /** Fails with a message naming the dir, before SQLite would fail with a vaguer one. */
  private static void checkWritable(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw notWritable(dir, reason(e));
    }
    if (!Files.isDirectory(dir)) {
      throw notWritable(dir, "it is not a directory");
    }
    try {
      Path probe = Files.createTempFile(dir, ".write-probe-", ".tmp");
      Files.delete(probe);
    } catch (IOException e) {
      throw notWritable(dir, reason(e));
    }
    Path file = dir.resolve(DATABASE_FILE);
    if (Files.exists(file) && !Files.isWritable(file)) {
      throw notWritable(dir, DATABASE_FILE + " is read-only");
    }
  }

  private static KeywardenException notWritable(Path dir, String reason) {
    return KeywardenException.precondition("data dir " + dir + " is not writable: " + reason);
  }

  private static String reason(IOException e) {
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileAlreadyExistsException) {
      return "it exists and is not a directory";
    }
    if (e instanceof NoSuchFileException) {
      return "it cannot be created there";
    }
    if (e instanceof FileSystemException fse && fse.getReason() != null) {
      return fse.getReason();
    }
    return e.getClass().getSimpleName();
  }

  @Override
  public Optional<StoredEntry> get(String key) {
    return outside(() -> direct.get(key));
  }

  @Override
  public void put(String key, byte[] value) {
    outside(() -> {
      direct.put(key, value);
      return null;
    });
  }

  @Override
  public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    return outside(() -> direct.compareAndSet(key, expectedVersion, value));
  }

  @Override
  public List<String> list(String prefix) {
    return outside(() -> direct.list(prefix));
  }

  @Override
  public boolean delete(String key) {
    return outside(() -> direct.delete(key));
  }

  @Override
  public <T> T atomically(Function<StorageOps, T> work) {
    Objects.requireNonNull(work, "work");
    refuseNesting();
    lock.lock();
    try {
      checkOpen();
      // IMMEDIATE takes the write lock up front, so the transaction never fails half-way with SQLITE_BUSY
      execute("BEGIN IMMEDIATE", "starting a transaction");
      TransactionOps ops = new TransactionOps();
      T result;
      try {
        result = work.apply(ops);
      } catch (Throwable t) {
        ops.active = false;
        rollbackQuietly();
        throw t;
      }
      ops.active = false;
      try {
        execute("COMMIT", "committing");
      } catch (KeywardenException e) {
        rollbackQuietly();
        throw e;
      }
      return result;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String kind() {
    return "sqlite";
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      try {
        connection.close();
      } catch (SQLException e) {
        log.warn("closing SQLite storage at {} failed", databaseFile, e);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "SqliteStorage[" + databaseFile + "]";
  }

  /** The value of a PRAGMA on the connection in use; for tests. */
  String pragma(String name) {
    if (!name.matches("[a-z_]+")) {
      throw new IllegalArgumentException("not a pragma name");
    }
    return outside(() -> {
      try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("PRAGMA " + name)) {
        return rs.next() ? rs.getString(1) : null;
      } catch (SQLException e) {
        throw storageError("reading a pragma", e);
      }
    });
  }

  private <T> T outside(Supplier<T> operation) {
    refuseNesting();
    lock.lock();
    try {
      checkOpen();
      return operation.get();
    } finally {
      lock.unlock();
    }
  }

  private void refuseNesting() {
    if (lock.isHeldByCurrentThread()) {
      // only atomically() runs caller code under the lock, so this is a call from inside its work
      throw new IllegalStateException("do not call Storage from inside atomically(): use the StorageOps it passes");
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new KeywardenException(KeywardenException.Kind.UNAVAILABLE, "storage error: storage is closed");
    }
  }

  private void execute(String sql, String what) {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw storageError(what, e);
    }
  }

  private void rollbackQuietly() {
    try (Statement statement = connection.createStatement()) {
      statement.execute("ROLLBACK");
    } catch (SQLException e) {
      // SQLite may already have rolled back (e.g. after SQLITE_FULL); the caller's exception is the one that matters
      log.warn("rolling back a transaction on {} failed: {}", databaseFile, e.getMessage());
    }
  }

  static KeywardenException storageError(String what, SQLException e) {
    // sqlite-jdbc messages name the result code and the SQL error, never bound values
    return new KeywardenException(KeywardenException.Kind.UNAVAILABLE,
        "storage error: " + what + " failed: " + e.getMessage(), e);
  }

  /** The ops handed to {@link #atomically}; valid only during that call, on its thread. */
  private final class TransactionOps implements StorageOps {
    private boolean active = true;

    private StorageOps ops() {
      if (!active || !lock.isHeldByCurrentThread()) {
        throw new IllegalStateException("these StorageOps belong to an atomically() call that has ended or runs "
            + "on another thread");
      }
      return direct;
    }

    @Override
    public Optional<StoredEntry> get(String key) {
      return ops().get(key);
    }

    @Override
    public void put(String key, byte[] value) {
      ops().put(key, value);
    }

    @Override
    public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
      return ops().compareAndSet(key, expectedVersion, value);
    }

    @Override
    public List<String> list(String prefix) {
      return ops().list(prefix);
    }

    @Override
    public boolean delete(String key) {
      return ops().delete(key);
    }
  }

  /** The SQL of each operation, on one connection; callers hold the lock. */
  private static final class ConnectionOps implements StorageOps {
    private final Connection connection;

    ConnectionOps(Connection connection) {
      this.connection = connection;
    }

    @Override
    public Optional<StoredEntry> get(String key) {
      Keys.check(key);
      try (PreparedStatement s = connection.prepareStatement("SELECT value, version FROM kv WHERE key = ?")) {
        s.setString(1, key);
        try (ResultSet rs = s.executeQuery()) {
          if (!rs.next()) {
            return Optional.empty();
          }
          byte[] value = rs.getBytes(1);
          // a zero-length BLOB comes back as null
          return Optional.of(new StoredEntry(key, value == null ? new byte[0] : value, rs.getLong(2)));
        }
      } catch (SQLException e) {
        throw storageError("reading an entry", e);
      }
    }

    @Override
    public void put(String key, byte[] value) {
      Keys.check(key);
      Objects.requireNonNull(value, "value");
      try (PreparedStatement s = connection.prepareStatement("INSERT INTO kv (key, value, version) VALUES (?, ?, 1) "
          + "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = kv.version + 1")) {
        s.setString(1, key);
        s.setBytes(2, value);
        s.executeUpdate();
      } catch (SQLException e) {
        throw storageError("writing an entry", e);
      }
    }

    @Override
    public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
      Keys.check(key);
      Objects.requireNonNull(value, "value");
      if (expectedVersion < 0) {
        throw new IllegalArgumentException("expectedVersion must be 0 (absent) or a version, not " + expectedVersion);
      }
      String sql = expectedVersion == 0
          ? "INSERT INTO kv (key, value, version) VALUES (?, ?, 1) ON CONFLICT (key) DO NOTHING"
          : "UPDATE kv SET value = ?, version = version + 1 WHERE key = ? AND version = ?";
      try (PreparedStatement s = connection.prepareStatement(sql)) {
        if (expectedVersion == 0) {
          s.setString(1, key);
          s.setBytes(2, value);
        } else {
          s.setBytes(1, value);
          s.setString(2, key);
          s.setLong(3, expectedVersion);
        }
        return s.executeUpdate() == 1;
      } catch (SQLException e) {
        throw storageError("writing an entry", e);
      }
    }

    @Override
    public List<String> list(String prefix) {
      Keys.check(prefix);
      // a range instead of LIKE: %, _ and \ in the prefix stay literal and the primary key index is used
      String upper = Keys.upperBound(prefix);
      String sql = "SELECT key FROM kv WHERE key >= ?" + (upper == null ? "" : " AND key < ?") + " ORDER BY key";
      List<String> keys = new ArrayList<>();
      try (PreparedStatement s = connection.prepareStatement(sql)) {
        s.setString(1, prefix);
        if (upper != null) {
          s.setString(2, upper);
        }
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            String key = rs.getString(1);
            if (key.startsWith(prefix)) {
              keys.add(key);
            }
          }
        }
      } catch (SQLException e) {
        throw storageError("listing entries", e);
      }
      // SQLite orders by UTF-8 bytes; callers get Java's String order
      keys.sort(null);
      return List.copyOf(keys);
    }

    @Override
    public boolean delete(String key) {
      Keys.check(key);
      try (PreparedStatement s = connection.prepareStatement("DELETE FROM kv WHERE key = ?")) {
        s.setString(1, key);
        return s.executeUpdate() == 1;
      } catch (SQLException e) {
        throw storageError("deleting an entry", e);
      }
    }
  }
}
