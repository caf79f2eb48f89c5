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
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
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
 * <p>Writes go through one connection, one group at a time, so no caller ever sees SQLITE_BUSY from its own process,
 * and they are committed in groups: a writer queues its work; if no group is running it leads one, running every
 * queued piece of work in one transaction (each in its own savepoint, so one failing rolls back only itself) and
 * paying one fsync for all of them, otherwise it waits to be told its work is done. Concurrent writers therefore
 * share the fsync instead of queueing for one each. Watchers are told each group's changed keys right after its
 * commit, before its writers return (in-process: one node per file). Reads use a small pool
 * of their own connections; in WAL mode they see every committed write and never wait for a commit's fsync. The busy
 * timeout covers other processes (e.g. an operator tool) opening the same file.
 */
public final class SqliteStorage implements Storage {

  /** Name of the database file inside the data dir. */
  public static final String DATABASE_FILE = "keywarden.db";

  private static final Logger log = LoggerFactory.getLogger(SqliteStorage.class);
  private static final int BUSY_TIMEOUT_MILLIS = 30_000;
  /** Page cache per connection, KiB. */
  static final int CACHE_KIB = 16 * 1024;
  private static final String MIGRATIONS = "classpath:db/migration/sqlite";

  /** Read connections kept open; more concurrent readers wait for one. */
  private static final int READERS = 4;
  /** The most queued writes one commit takes, so a commit's latency stays bounded under load. */
  private static final int MAX_GROUP = 256;

  /** Guards the write connection: held while a group runs, by close() and by tests' pragma reads. */
  private final ReentrantLock lock = new ReentrantLock();
  /**
   * True while a writer leads groups. Waiting writers park, each on its own write, and are woken one by one: the
   * runner wakes a writer when its write is done, and a leader leaving wakes the writer at the head of the queue to
   * lead next. (One monitor that every waiter waited on, woken with notifyAll at the end of each group, woke all 63
   * waiting writers of 64 per group; the wake-ups cost more CPU than the certificates they stored.)
   */
  private final java.util.concurrent.atomic.AtomicBoolean leading = new java.util.concurrent.atomic.AtomicBoolean();
  /** The thread running writers' work, so a call to this Storage from inside that work is refused. */
  private volatile Thread runner;
  /** The thread telling watchers about a commit, so a write from a listener is refused instead of deadlocking. */
  private volatile Thread announcing;
  private final Path databaseFile;
  private final SQLiteDataSource dataSource;
  private final Connection connection;
  private final ConnectionOps direct;
  private final ConcurrentLinkedQueue<Write<?>> queued = new ConcurrentLinkedQueue<>();
  private final BlockingQueue<ConnectionOps> idleReaders = new ArrayBlockingQueue<>(READERS);
  private final AtomicInteger readers = new AtomicInteger();
  private final ChangeFeed feed = new ChangeFeed();
  private volatile boolean closed;
  /** Commits made, for tests that show concurrent writes share them. */
  final AtomicInteger commits = new AtomicInteger();

  private SqliteStorage(Path databaseFile, SQLiteDataSource dataSource, Connection connection) {
    this.databaseFile = databaseFile;
    this.dataSource = dataSource;
    this.connection = connection;
    this.direct = new ConnectionOps(connection, databaseFile);
  }

  /**
   * Opens (creating if needed) the database in {@code dataDir} and brings its schema up to date. FAILED_PRECONDITION
   * says what is wrong with a damaged, empty or unreadable database file, or with a missing one in a data dir that
   * {@link InitMarker} says was initialized; RESOURCE_EXHAUSTED when the disk is full.
   */
  public static SqliteStorage open(Path dataDir) {
    Path dir = dataDir.toAbsolutePath().normalize();
    checkWritable(dir);
    Path file = dir.resolve(DATABASE_FILE);
    SqliteFailures.checkBeforeOpen(file, InitMarker.in(dir));
    SQLiteDataSource dataSource = dataSource(file);
    try {
      Flyway.configure()
          .dataSource(dataSource)
          .locations(MIGRATIONS)
          .load()
          .migrate();
    } catch (FlywayException e) {
      throw SqliteFailures.atOpen(file, e);
    }
    Connection connection;
    try {
      connection = dataSource.getConnection();
    } catch (SQLException e) {
      throw SqliteFailures.atOpen(file, e);
    }
    log.info("opened SQLite storage at {}", file);
    return new SqliteStorage(file, dataSource, connection);
  }

  private static SQLiteDataSource dataSource(Path file) {
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    // FULL: the WAL is fsynced on every commit, so an acknowledged write survives power loss
    config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
    config.setBusyTimeout(BUSY_TIMEOUT_MILLIS);
    config.enforceForeignKeys(true);
    // Each connection's page cache: 16 MiB (SQLite's default is 2 MiB), enough for every interior page of the
    // B-trees of a million-record store, so a point read costs about one leaf page whatever the store's size.
    config.setCacheSize(-CACHE_KIB);
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
    return read(ops -> ops.get(key));
  }

  @Override
  public void put(String key, byte[] value) {
    write(ops -> {
      ops.put(key, value);
      return null;
    });
  }

  @Override
  public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    return write(ops -> ops.compareAndSet(key, expectedVersion, value));
  }

  @Override
  public List<String> list(String prefix) {
    return read(ops -> ops.list(prefix));
  }

  @Override
  public List<String> list(String prefix, String after, int limit) {
    return read(ops -> ops.list(prefix, after, limit));
  }

  @Override
  public List<StoredEntry> entries(String prefix, String after, int limit) {
    return read(ops -> ops.entries(prefix, after, limit));
  }

  @Override
  public boolean delete(String key) {
    return write(ops -> ops.delete(key));
  }

  @Override
  public <T> T atomically(Function<StorageOps, T> work) {
    Objects.requireNonNull(work, "work");
    return write(work);
  }

  /** One caller's queued write and, once a group has run it, its outcome. */
  private static final class Write<T> {
    final Function<StorageOps, T> work;
    /** The thread waiting for this write, woken when it is done. */
    final Thread writer = Thread.currentThread();
    /** Keys this write changed, once it succeeded; told to watchers after the commit. */
    List<String> changed = List.of();
    /** Written last by the thread that ran the group, so a caller that sees it also sees the outcome. */
    volatile boolean done;
    T result;
    Throwable failure;

    Write(Function<StorageOps, T> work) {
      this.work = work;
    }

    T outcome() {
      if (failure instanceof RuntimeException e) {
        throw e;
      }
      if (failure instanceof Error e) {
        throw e;
      }
      if (failure != null) {
        throw new IllegalStateException(failure);
      }
      return result;
    }
  }

  /**
   * Queues {@code work}; leads a group commit when none is running, else waits until the running group (or the next)
   * has done it. A leader runs groups until its own work is done, then hands leadership to a waiting writer.
   */
  private <T> T write(Function<StorageOps, T> work) {
    refuseNesting();
    if (announcing == Thread.currentThread()) {
      // the write lock is held by this very delivery: queueing would wait for ourselves
      throw new IllegalStateException("do not write to Storage from a StorageListener");
    }
    Write<T> mine = new Write<>(work);
    queued.add(mine); // before trying to lead: a leader leaving after this sees it and wakes its writer, or this leads
    boolean interrupted = false;
    while (!mine.done) {
      if (leading.compareAndSet(false, true)) {
        lead(mine);
        break;
      }
      LockSupport.park(this);
      if (Thread.interrupted()) {
        interrupted = true; // the work is queued and will run: the caller must still learn how it went
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return mine.outcome();
  }

  /** Runs groups until {@code mine} is done, then leaves, waking the writer at the head of the queue to lead. */
  private void lead(Write<?> mine) {
    try {
      lock.lock();
      try {
        runner = Thread.currentThread();
        while (!mine.done) {
          runGroup();
        }
      } finally {
        runner = null;
        lock.unlock();
      }
    } finally {
      leading.set(false);
      Write<?> next = queued.peek();
      if (next != null) {
        LockSupport.unpark(next.writer);
      }
    }
  }

  /** Runs up to MAX_GROUP queued writes in one transaction, each in a savepoint; one COMMIT (one fsync) for all. */
  private void runGroup() {
    List<Write<?>> group = new ArrayList<>();
    for (Write<?> w = queued.poll(); w != null; w = group.size() < MAX_GROUP ? queued.poll() : null) {
      group.add(w);
    }
    if (group.isEmpty()) {
      return;
    }
    try {
      commitGroup(group);
    } catch (Throwable unexpected) {
      // whatever went wrong, no caller may wait forever: each write not yet decided fails with it
      rollbackQuietly();
      group.stream().filter(w -> !w.done).forEach(w -> fail(w, unexpected));
    }
  }

  private void commitGroup(List<Write<?>> group) {
    try {
      checkOpen();
      // IMMEDIATE takes the write lock up front, so the transaction never fails half-way with SQLITE_BUSY
      execute("BEGIN IMMEDIATE", "starting a transaction");
    } catch (RuntimeException e) {
      group.forEach(w -> fail(w, e));
      return;
    }
    List<Write<?>> succeeded = new ArrayList<>(group.size());
    for (Write<?> w : group) {
      try {
        if (runInSavepoint(w)) {
          succeeded.add(w);
        }
      } catch (KeywardenException lost) {
        // A failed write could not be undone alone (SQLite may have rolled back the whole transaction, e.g. when the
        // disk is full): nothing of this group is committed, so every write in it fails.
        rollbackQuietly();
        group.forEach(g -> fail(g, lost));
        return;
      }
    }
    try {
      execute("COMMIT", "committing");
    } catch (KeywardenException e) {
      rollbackQuietly();
      succeeded.forEach(w -> fail(w, e));
      return;
    }
    commits.incrementAndGet();
    announce(succeeded);
    succeeded.forEach(SqliteStorage::finish);
  }

  /**
   * Tells watchers what the committed group changed, in commit order, before any of its writers returns. Runs with
   * the write lock held (one delivery at a time) but outside the writers' work, so a listener may read.
   */
  private void announce(List<Write<?>> committed) {
    if (feed.isEmpty()) {
      return;
    }
    Thread self = runner;
    runner = null;
    announcing = self;
    try {
      for (Write<?> w : committed) {
        w.changed.forEach(feed::changed);
      }
    } finally {
      announcing = null;
      runner = self;
    }
  }

  /**
   * Runs one write; on failure rolls back to before it and records the failure. True when it succeeded; throws when
   * the failed write could not be undone on its own.
   */
  private <T> boolean runInSavepoint(Write<T> w) {
    TransactionOps ops = new TransactionOps();
    try {
      execute("SAVEPOINT w", "starting a write");
      T result = w.work.apply(ops);
      ops.active = false;
      execute("RELEASE w", "finishing a write");
      w.result = result;
      w.changed = ops.changed;
      return true;
    } catch (Throwable t) {
      ops.active = false;
      if (t instanceof KeywardenException k && k.getCause() instanceof SQLException) {
        // the statement itself failed: SQLite may have ended the transaction, so give up the group
        throw k;
      }
      execute("ROLLBACK TO w", "undoing a failed write");
      execute("RELEASE w", "undoing a failed write");
      fail(w, t);
      return false;
    }
  }

  private static void fail(Write<?> w, Throwable failure) {
    w.result = null;
    w.failure = failure;
    finish(w); // last: publishes the failure
  }

  /** Marks {@code w} done, which publishes its outcome, and wakes its writer. */
  private static void finish(Write<?> w) {
    w.done = true;
    LockSupport.unpark(w.writer);
  }

  /** Runs a read on a pooled read connection: it sees every committed write and never waits for a commit. */
  private <T> T read(Function<StorageOps, T> work) {
    refuseNesting();
    checkOpen();
    ConnectionOps reader = borrowReader();
    try {
      return work.apply(reader);
    } finally {
      returnReader(reader);
    }
  }

  private ConnectionOps borrowReader() {
    ConnectionOps reader = idleReaders.poll();
    if (reader != null) {
      return reader;
    }
    if (readers.incrementAndGet() <= READERS) {
      try {
        return new ConnectionOps(dataSource.getConnection(), databaseFile);
      } catch (SQLException e) {
        readers.decrementAndGet();
        throw storageError("opening a read connection to " + databaseFile, e);
      }
    }
    readers.decrementAndGet();
    try {
      return idleReaders.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KeywardenException(KeywardenException.Kind.UNAVAILABLE, "storage error: interrupted waiting to read");
    }
  }

  private void returnReader(ConnectionOps reader) {
    if (closed || !idleReaders.offer(reader)) {
      reader.close();
      return;
    }
    if (closed && idleReaders.remove(reader)) {
      reader.close(); // close() ran while we were returning it
    }
  }

  @Override
  public StorageWatch watch(String prefix, StorageListener listener) {
    return feed.watch(prefix, listener);
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
      for (ConnectionOps reader = idleReaders.poll(); reader != null; reader = idleReaders.poll()) {
        reader.close();
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

  /** Runs {@code operation} on the write connection, alone; for tests' pragma reads. */
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
    if (runner == Thread.currentThread()) {
      // only a group runs caller code on the write connection, so this is a call from inside a write's work
      throw new IllegalStateException("do not call Storage from inside atomically(): use the StorageOps it passes");
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new KeywardenException(KeywardenException.Kind.UNAVAILABLE, "storage error: storage is closed");
    }
  }

  /** Runs a transaction-control statement on the write connection, prepared once (see {@link ConnectionOps}). */
  private void execute(String sql, String what) {
    try {
      direct.statement(sql).execute();
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

  private KeywardenException storageError(String what, SQLException e) {
    return SqliteFailures.inUse(databaseFile, what, e);
  }

  /** The ops handed to {@link #atomically}; valid only during that call, on its thread. */
  private final class TransactionOps implements StorageOps {
    private boolean active = true;
    /** Keys changed so far, in order. */
    private final List<String> changed = new ArrayList<>();

    private StorageOps ops() {
      if (!active || runner != Thread.currentThread()) {
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
      changed.add(key);
    }

    @Override
    public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
      return recorded(key, ops().compareAndSet(key, expectedVersion, value));
    }

    @Override
    public List<String> list(String prefix) {
      return ops().list(prefix);
    }

    @Override
    public List<String> list(String prefix, String after, int limit) {
      return ops().list(prefix, after, limit);
    }

    @Override
    public List<StoredEntry> entries(String prefix, String after, int limit) {
      return ops().entries(prefix, after, limit);
    }

    @Override
    public boolean delete(String key) {
      return recorded(key, ops().delete(key));
    }

    private boolean recorded(String key, boolean wrote) {
      if (wrote) {
        changed.add(key);
      }
      return wrote;
    }
  }

  /**
   * The SQL of each operation on one connection, used by one thread at a time. Its fixed statements are prepared
   * once and kept: sqlite-jdbc keeps no statement cache, and compiling the SQL again on every call cost more CPU than
   * running it (a stored certificate's transaction runs six statements).
   */
  private static final class ConnectionOps implements StorageOps {
    private final Connection connection;
    private final Path file;
    /** Prepared statements by SQL; only the fixed statements above, so a handful. */
    private final java.util.Map<String, PreparedStatement> prepared = new java.util.HashMap<>();

    ConnectionOps(Connection connection, Path file) {
      this.connection = connection;
      this.file = file;
    }

    private KeywardenException storageError(String what, SQLException e) {
      return SqliteFailures.inUse(file, what, e);
    }

    /** The statement for {@code sql}, prepared on first use; never closed by callers (close() closes them). */
    PreparedStatement statement(String sql) throws SQLException {
      PreparedStatement s = prepared.get(sql);
      if (s == null) {
        s = connection.prepareStatement(sql);
        prepared.put(sql, s);
      }
      return s;
    }

    void close() {
      try {
        connection.close(); // closes its statements
      } catch (SQLException e) {
        log.warn("closing a SQLite read connection failed: {}", e.getMessage());
      }
    }

    @Override
    public Optional<StoredEntry> get(String key) {
      Keys.check(key);
      try {
        PreparedStatement s = statement("SELECT value, version FROM kv WHERE key = ?");
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
      try {
        PreparedStatement s = statement("INSERT INTO kv (key, value, version) VALUES (?, ?, 1) "
            + "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = kv.version + 1");
        s.setString(1, key);
        s.setBytes(2, value);
        try {
          s.executeUpdate();
        } finally {
          s.clearParameters(); // the kept statement must not keep the value
        }
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
      try {
        PreparedStatement s = statement(sql);
        if (expectedVersion == 0) {
          s.setString(1, key);
          s.setBytes(2, value);
        } else {
          s.setBytes(1, value);
          s.setString(2, key);
          s.setLong(3, expectedVersion);
        }
        try {
          return s.executeUpdate() == 1;
        } finally {
          s.clearParameters(); // the kept statement must not keep the value
        }
      } catch (SQLException e) {
        throw storageError("writing an entry", e);
      }
    }

    @Override
    public List<String> list(String prefix) {
      // SQLite orders by UTF-8 bytes; callers get Java's String order
      List<String> keys = new ArrayList<>(KeyRangeQuery.keys(connection, prefix, "", 0,
          e -> storageError("listing entries", e)));
      keys.sort(null);
      return List.copyOf(keys);
    }

    @Override
    public List<String> list(String prefix, String after, int limit) {
      return KeyRangeQuery.keys(connection, prefix, after, KeyRangeQuery.limit(limit),
          e -> storageError("listing entries", e));
    }

    @Override
    public List<StoredEntry> entries(String prefix, String after, int limit) {
      return KeyRangeQuery.entries(connection, prefix, after, KeyRangeQuery.limit(limit),
          e -> storageError("reading entries", e));
    }

    @Override
    public boolean delete(String key) {
      Keys.check(key);
      try {
        PreparedStatement s = statement("DELETE FROM kv WHERE key = ?");
        s.setString(1, key);
        return s.executeUpdate() == 1;
      } catch (SQLException e) {
        throw storageError("deleting an entry", e);
      }
    }
  }
}
