package dev.keywarden.storage;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.keywarden.failure.KeywardenException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Storage} in one table of a PostgreSQL database, shared by every node pointed at it.
 *
 * <p>A single get/put/compare-and-set/delete is one statement on a pooled connection in autocommit (READ COMMITTED):
 * a compare-and-set is {@code UPDATE … WHERE version = ?}, which PostgreSQL re-checks on the newest row after waiting
 * for a concurrent writer, so two racing compare-and-sets never both win. {@link #atomically} runs SERIALIZABLE and runs
 * the work again (up to {@link #ATTEMPTS} times) when PostgreSQL reports a serialization failure or deadlock, so a
 * read-modify-write inside it never loses a concurrent update.
 *
 * <p>Group commit: concurrent writes run on up to {@link PostgresSettings#poolSize()} connections at once, and
 * PostgreSQL flushes the write-ahead log for every commit waiting at the time in one fsync (its {@code commit_delay}
 * can widen that window), so nothing like SQLite's write queue is needed here.
 *
 * <p>Change feed: every write runs {@code pg_notify('keywarden_changes', …)} in its own statement's transaction, so the
 * notification is sent on commit only and never for a rollback. The payload is {@code k:<key>}, or, for a key too long
 * for a notification ({@link #MAX_PAYLOAD_BYTES}), {@code p:<the key's first bytes>}, which resets the watchers of that
 * prefix. A dedicated connection LISTENs on one daemon thread; when it is lost every watcher is reset, and once it
 * LISTENs again they are all reset once more, so no change made while it was away goes unseen.
 */
public final class PostgresStorage implements Storage {
  /** The notification channel of the change feed. */
  public static final String CHANNEL = "keywarden_changes";
  /** {@code application_name} of the change feed's connection (so an operator, or a test, can find it). */
  public static final String LISTENER_APPLICATION = "keywarden-listener";
  /** {@code application_name} of the pooled connections. */
  public static final String POOL_APPLICATION = "keywarden";
  /** Largest notification payload we send; PostgreSQL refuses 8,000 bytes or more. */
  static final int MAX_PAYLOAD_BYTES = 7_900;
  /** Runs of {@link #atomically}'s work before a transaction that keeps losing races gives up (UNAVAILABLE). */
  static final int ATTEMPTS = 50;

  private static final Logger log = LoggerFactory.getLogger(PostgresStorage.class);
  private static final String MIGRATIONS = "classpath:db/migration/postgresql";
  /** How long a call waits for a pooled connection (e.g. while the database is down) before failing UNAVAILABLE. */
  private static final long CONNECTION_TIMEOUT_MILLIS = 3_000;

  private final PostgresSettings settings;
  private final HikariDataSource pool;
  private final ChangeFeed feed = new ChangeFeed();
  private final PostgresFeedListener listener;
  private final java.util.List<PostgresLease> leases = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** True on a thread while it runs {@link #atomically}'s work, so a call to this Storage from inside it is refused. */
  private final ThreadLocal<Boolean> inTransaction = ThreadLocal.withInitial(() -> false);
  private volatile boolean closed;
  /**
   * Set when a pooled connection could not be had while the change feed's connection was down too: PostgreSQL is down
   * or cut off. Until the feed reconnects (its thread probes with backoff), calls fail UNAVAILABLE at once instead of
   * each waiting {@link #CONNECTION_TIMEOUT_MILLIS} for the pool, so what is cached goes on serving at full speed.
   */
  private volatile boolean unreachable;

  private PostgresStorage(PostgresSettings settings, HikariDataSource pool) {
    this.settings = settings;
    this.pool = pool;
    this.listener = new PostgresFeedListener(settings, feed);
  }

  /**
   * Connects to the database in {@code settings}, brings its schema up to date (Flyway; several nodes starting at
   * once take turns on PostgreSQL's advisory lock) and starts the change feed. FAILED_PRECONDITION for a refused login
   * or a missing database, UNAVAILABLE when PostgreSQL cannot be reached; both say what to check.
   */
  public static PostgresStorage open(PostgresSettings settings) {
    HikariDataSource pool = new HikariDataSource(poolConfig(settings));
    PostgresStorage storage = null;
    try {
      Flyway.configure()
          .dataSource(pool)
          .locations(MIGRATIONS)
          .load()
          .migrate();
      checkEncoding(pool);
      storage = new PostgresStorage(settings, pool);
      storage.listener.start();
      log.info("opened PostgreSQL storage at {} as user '{}'", settings.url(), settings.user());
      return storage;
    } catch (FlywayException | SQLException e) {
      close(storage, pool);
      throw PostgresFailures.atOpen(settings, e);
    } catch (RuntimeException | Error e) {
      close(storage, pool);
      throw e;
    }
  }

  private static void close(PostgresStorage storage, HikariDataSource pool) {
    if (storage != null) {
      storage.close();
    } else {
      pool.close();
    }
  }

  private static HikariConfig poolConfig(PostgresSettings settings) {
    HikariConfig c = new HikariConfig();
    c.setPoolName("keywarden-postgresql");
    c.setJdbcUrl(settings.url());
    c.setUsername(settings.user());
    c.setPassword(settings.password());
    c.setMaximumPoolSize(settings.poolSize());
    c.setMinimumIdle(settings.poolSize()); // a fixed-size pool: no connection set-up on a burst of writes
    c.setConnectionTimeout(CONNECTION_TIMEOUT_MILLIS);
    c.setValidationTimeout(1_000);
    // the first connection is made by Flyway below, whose failure says what is wrong
    c.setInitializationFailTimeout(-1);
    c.setAutoCommit(true);
    PostgresFeedListener.driverProperties(POOL_APPLICATION).forEach(c::addDataSourceProperty);
    return c;
  }

  private static void checkEncoding(HikariDataSource pool) throws SQLException {
    try (Connection c = pool.getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SHOW server_encoding")) {
      rs.next();
      String encoding = rs.getString(1);
      if (!"UTF8".equalsIgnoreCase(encoding)) {
        throw KeywardenException.precondition("the PostgreSQL database uses encoding " + encoding + ": Keywarden "
            + "needs UTF8 (CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0)");
      }
    }
  }

  @Override
  public Optional<StoredEntry> get(String key) {
    return single(ops -> ops.get(key));
  }

  @Override
  public void put(String key, byte[] value) {
    single(ops -> {
      ops.put(key, value);
      return null;
    });
  }

  @Override
  public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    return single(ops -> ops.compareAndSet(key, expectedVersion, value));
  }

  @Override
  public List<String> list(String prefix) {
    return single(ops -> ops.list(prefix));
  }

  @Override
  public List<String> list(String prefix, String after, int limit) {
    return single(ops -> ops.list(prefix, after, limit));
  }

  @Override
  public List<StoredEntry> entries(String prefix, String after, int limit) {
    return single(ops -> ops.entries(prefix, after, limit));
  }

  @Override
  public boolean delete(String key) {
    return single(ops -> ops.delete(key));
  }

  /** One statement in autocommit on a pooled connection. */
  private <T> T single(Function<StorageOps, T> operation) {
    refuseNesting();
    try (Connection c = connection()) {
      return operation.apply(new ConnectionOps(c));
    } catch (SQLException e) {
      throw PostgresFailures.inUse("returning a connection", e);
    }
  }

  @Override
  public <T> T atomically(Function<StorageOps, T> work) {
    Objects.requireNonNull(work, "work");
    refuseNesting();
    for (int attempt = 1; ; attempt++) {
      try {
        return attempt(work);
      } catch (Conflict conflict) {
        if (attempt >= ATTEMPTS) {
          throw KeywardenException.unavailable("storage error: a transaction kept conflicting with concurrent ones ("
              + ATTEMPTS + " attempts); try again", conflict.getCause());
        }
        backOff(attempt);
      }
    }
  }

  /** One run of {@code work} in a SERIALIZABLE transaction; {@link Conflict} when it should run again. */
  private <T> T attempt(Function<StorageOps, T> work) {
    Connection c = connection();
    TransactionOps ops = null;
    try {
      try {
        c.setAutoCommit(false);
        c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
      } catch (SQLException e) {
        throw failed("starting a transaction", e);
      }
      ops = new TransactionOps(new ConnectionOps(c));
      T result;
      inTransaction.set(true);
      try {
        result = work.apply(ops);
      } catch (Throwable t) {
        ops.active = false;
        rollbackQuietly(c);
        if (PostgresFailures.isConflict(t) || ops.conflicted) {
          throw new Conflict(t);
        }
        throw t;
      } finally {
        ops.active = false;
        inTransaction.remove();
      }
      try {
        c.commit();
      } catch (SQLException e) {
        rollbackQuietly(c);
        // a conflict the work caught and ignored aborted the transaction: the commit fails, and a re-run is right
        if (PostgresFailures.isConflict(e) || ops.conflicted) {
          throw new Conflict(e);
        }
        throw failed("committing", e);
      }
      return result;
    } finally {
      try {
        // Hikari resets both on return too; done here so a broken connection is found now rather than later
        c.setAutoCommit(true);
        c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
      } catch (SQLException e) {
        log.debug("resetting a pooled connection failed: {}", e.getMessage());
      }
      try {
        c.close();
      } catch (SQLException e) {
        log.debug("returning a pooled connection failed: {}", e.getMessage());
      }
    }
  }

  /** A transaction that lost a race with a concurrent one (SQLSTATE 40001 or 40P01): run it again. */
  private static final class Conflict extends RuntimeException {
    Conflict(Throwable cause) {
      super(cause.getMessage(), cause, false, false);
    }
  }

  private static void backOff(int attempt) {
    try {
      Thread.sleep(ThreadLocalRandom.current().nextLong(1, Math.min(50, 2L * attempt) + 1));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw KeywardenException.unavailable("storage error: interrupted while retrying a transaction", e);
    }
  }

  private static void rollbackQuietly(Connection c) {
    try {
      c.rollback();
    } catch (SQLException e) {
      // the connection may be gone; the caller's exception is the one that matters
      log.debug("rolling back failed: {}", e.getMessage());
    }
  }

  private Connection connection() {
    checkOpen();
    if (unreachable) {
      if (listener.connected()) {
        unreachable = false; // the feed reached PostgreSQL again: so will the pool
      } else {
        throw KeywardenException.unavailable("storage error: PostgreSQL at " + settings.url() + " cannot be "
            + "reached now (neither a pooled connection nor the change feed's); try again shortly", null);
      }
    }
    try {
      return pool.getConnection();
    } catch (SQLException e) {
      if (!listener.connected()) {
        unreachable = true;
      }
      throw PostgresFailures.inUse("connecting to PostgreSQL at " + settings.url(), e);
    }
  }

  /**
   * The failure of a statement. A lost connection (SQLSTATE class 08) while the change feed is down too means
   * PostgreSQL cannot be reached: later calls fail at once (see {@link #connection()}) instead of each taking a dead
   * pooled connection or waiting for a new one.
   */
  private KeywardenException failed(String what, SQLException e) {
    String state = PostgresFailures.sqlState(e);
    if (state != null && state.startsWith("08") && !listener.connected()) {
      unreachable = true;
    }
    return PostgresFailures.inUse(what, e);
  }

  private void refuseNesting() {
    if (inTransaction.get()) {
      throw new IllegalStateException("do not call Storage from inside atomically(): use the StorageOps it passes");
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new KeywardenException(KeywardenException.Kind.UNAVAILABLE, "storage error: storage is closed");
    }
  }

  @Override
  public StorageWatch watch(String prefix, StorageListener listener) {
    return feed.watch(prefix, listener);
  }

  @Override
  public WorkLease lease(String name) {
    checkOpen();
    PostgresLease lease = new PostgresLease(settings, name);
    leases.add(lease);
    return lease;
  }

  @Override
  public String kind() {
    return "postgresql";
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    leases.forEach(PostgresLease::close);
    listener.close();
    pool.close();
  }

  @Override
  public String toString() {
    return "PostgresStorage[" + settings.url() + ", user=" + settings.user() + "]";
  }

  /** The notification payload announcing a change to {@code key}. */
  static String payload(String key) {
    if (key.getBytes(UTF_8).length + 2 <= MAX_PAYLOAD_BYTES) {
      return "k:" + key;
    }
    // too long for one notification: announce its first bytes (whole code points) as a prefix to reset
    StringBuilder prefix = new StringBuilder("p:");
    int bytes = 2;
    for (int i = 0; i < key.length(); ) {
      int cp = key.codePointAt(i);
      int size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + size > MAX_PAYLOAD_BYTES) {
        break;
      }
      prefix.appendCodePoint(cp);
      bytes += size;
      i += Character.charCount(cp);
    }
    return prefix.toString();
  }

  /** The ops handed to {@link #atomically}; valid only during that call, on its thread. */
  private final class TransactionOps implements StorageOps {
    private final ConnectionOps direct;
    private final Thread owner = Thread.currentThread();
    private volatile boolean active = true;
    /** A statement failed with a serialization failure (even if the work caught it): the run must be repeated. */
    private boolean conflicted;

    TransactionOps(ConnectionOps direct) {
      this.direct = direct;
    }

    private <T> T run(Function<ConnectionOps, T> op) {
      if (!active || owner != Thread.currentThread()) {
        throw new IllegalStateException("these StorageOps belong to an atomically() call that has ended or runs "
            + "on another thread");
      }
      try {
        return op.apply(direct);
      } catch (KeywardenException e) {
        if (PostgresFailures.isConflict(e)) {
          conflicted = true;
        }
        throw e;
      }
    }

    @Override
    public Optional<StoredEntry> get(String key) {
      return run(ops -> ops.get(key));
    }

    @Override
    public void put(String key, byte[] value) {
      run(ops -> {
        ops.put(key, value);
        return null;
      });
    }

    @Override
    public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
      return run(ops -> ops.compareAndSet(key, expectedVersion, value));
    }

    @Override
    public List<String> list(String prefix) {
      return run(ops -> ops.list(prefix));
    }

    @Override
    public List<String> list(String prefix, String after, int limit) {
      return run(ops -> ops.list(prefix, after, limit));
    }

    @Override
    public List<StoredEntry> entries(String prefix, String after, int limit) {
      return run(ops -> ops.entries(prefix, after, limit));
    }

    @Override
    public boolean delete(String key) {
      return run(ops -> ops.delete(key));
    }
  }

  /**
   * The SQL of each operation on one connection. Every write is one statement whose data-modifying CTE returns the
   * changed row and whose outer SELECT notifies for it, so a notification exists exactly when a row changed.
   */
  private final class ConnectionOps implements StorageOps {
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
          return Optional.of(new StoredEntry(key, rs.getBytes(1), rs.getLong(2)));
        }
      } catch (SQLException e) {
        throw failed("reading an entry", e);
      }
    }

    @Override
    public void put(String key, byte[] value) {
      Keys.check(key);
      Objects.requireNonNull(value, "value");
      writeAndNotify("writing an entry", "INSERT INTO kv (key, value, version) VALUES (?, ?, 1) "
          + "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = kv.version + 1", key, s -> {
            s.setString(1, key);
            s.setBytes(2, value);
            return 3;
          });
    }

    @Override
    public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
      Keys.check(key);
      Objects.requireNonNull(value, "value");
      if (expectedVersion < 0) {
        throw new IllegalArgumentException("expectedVersion must be 0 (absent) or a version, not " + expectedVersion);
      }
      if (expectedVersion == 0) {
        return writeAndNotify("writing an entry", "INSERT INTO kv (key, value, version) VALUES (?, ?, 1) "
            + "ON CONFLICT (key) DO NOTHING", key, s -> {
              s.setString(1, key);
              s.setBytes(2, value);
              return 3;
            });
      }
      return writeAndNotify("writing an entry", "UPDATE kv SET value = ?, version = version + 1 "
          + "WHERE key = ? AND version = ?", key, s -> {
            s.setBytes(1, value);
            s.setString(2, key);
            s.setLong(3, expectedVersion);
            return 4;
          });
    }

    @Override
    public List<String> list(String prefix) {
      // the C collation orders by UTF-8 bytes; callers get Java's String order
      List<String> keys = new ArrayList<>(KeyRangeQuery.keys(connection, prefix, "", 0,
          e -> failed("listing entries", e)));
      keys.sort(null);
      return List.copyOf(keys);
    }

    @Override
    public List<String> list(String prefix, String after, int limit) {
      return KeyRangeQuery.keys(connection, prefix, after, KeyRangeQuery.limit(limit),
          e -> failed("listing entries", e));
    }

    @Override
    public List<StoredEntry> entries(String prefix, String after, int limit) {
      return KeyRangeQuery.entries(connection, prefix, after, KeyRangeQuery.limit(limit),
          e -> failed("reading entries", e));
    }

    @Override
    public boolean delete(String key) {
      Keys.check(key);
      return writeAndNotify("deleting an entry", "DELETE FROM kv WHERE key = ?", key, s -> {
        s.setString(1, key);
        return 2;
      });
    }

    /** Binds the write's parameters and returns the index of the next one. */
    private interface Binder {
      int bind(PreparedStatement s) throws SQLException;
    }

    /** Runs {@code write} (which must RETURNING nothing) and notifies for {@code key} if it changed a row. */
    private boolean writeAndNotify(String what, String write, String key, Binder binder) {
      String sql = "WITH w AS (" + write + " RETURNING 1) SELECT pg_notify(?, ?) FROM w";
      try (PreparedStatement s = connection.prepareStatement(sql)) {
        int next = binder.bind(s);
        s.setString(next, CHANNEL);
        s.setString(next + 1, payload(key));
        int rows = 0;
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            rows++;
          }
        }
        return rows == 1;
      } catch (SQLException e) {
        throw failed(what, e);
      }
    }
  }
}
