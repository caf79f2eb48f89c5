package dev.keywarden.storage;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link WorkLease} on PostgreSQL: {@code pg_try_advisory_lock} on a connection of its own (application name
 * {@code keywarden-lease}), tried every {@link #PERIOD_MILLIS} while wanted. PostgreSQL drops the lock with the
 * connection, so when the holder is killed, loses the database or is cut off, the lock is free at once and the next
 * node to try takes it: within one period plus a connect. A holder checks its connection every period, and a
 * failure there means it holds nothing from then on.
 */
final class PostgresLease implements WorkLease {
  private static final Logger log = LoggerFactory.getLogger(PostgresLease.class);
  static final String APPLICATION = "keywarden-lease";
  static final long PERIOD_MILLIS = 3_000;
  /**
   * How often a holder checks its connection: after it was cut, the node believes it holds the lease for at most
   * this long, while another node may already have taken it (the work it guards is written with compare-and-set, so
   * a rare overlap repeats work but corrupts nothing).
   */
  static final long HEARTBEAT_MILLIS = 1_000;

  private final PostgresSettings settings;
  private final String name;
  private final long key;
  private final Thread thread;
  private final Object wake = new Object();
  private Connection connection; // the lease thread only
  private volatile boolean held;
  private volatile boolean wanted;
  private volatile boolean closed;

  PostgresLease(PostgresSettings settings, String name) {
    this.settings = settings;
    this.name = name;
    this.key = keyOf(name);
    this.thread = new Thread(this::run, "keywarden-lease-" + name);
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /** A stable 64-bit advisory lock key for {@code name} (FNV-1a), the same on every node. */
  static long keyOf(String name) {
    long h = 0xcbf29ce484222325L;
    for (byte b : ("keywarden-lease:" + name).getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }

  @Override
  public boolean held() {
    return held && wanted && !closed;
  }

  @Override
  public void want(boolean want) {
    wanted = want;
    synchronized (wake) {
      wake.notifyAll();
    }
  }

  @Override
  public void close() {
    closed = true;
    held = false;
    thread.interrupt();
  }

  private void run() {
    while (!closed) {
      try {
        step();
      } catch (SQLException e) {
        if (held) {
          log.warn("lost the '{}' lease with its PostgreSQL connection ({}); another node may take it",
              name, PostgresFailures.describe(e));
        }
        held = false;
        closeConnection();
      } catch (RuntimeException e) {
        held = false;
        closeConnection();
        log.warn("the '{}' lease failed ({}); trying again", name, e.getClass().getSimpleName());
      }
      synchronized (wake) {
        try {
          wake.wait(held ? HEARTBEAT_MILLIS : PERIOD_MILLIS);
        } catch (InterruptedException e) {
          if (closed) {
            break;
          }
        }
      }
    }
    closeConnection();
  }

  private void step() throws SQLException {
    if (!wanted) {
      if (held) {
        try (PreparedStatement s = connection.prepareStatement("SELECT pg_advisory_unlock(?)")) {
          s.setLong(1, key);
          s.execute();
        }
        held = false;
        log.info("gave up the '{}' lease", name);
      }
      return;
    }
    if (connection == null) {
      Properties p = new Properties();
      p.putAll(PostgresFeedListener.driverProperties(APPLICATION));
      p.setProperty("user", settings.user());
      if (settings.password() != null) {
        p.setProperty("password", settings.password());
      }
      connection = DriverManager.getConnection(settings.url(), p);
    }
    if (held) {
      try (Statement s = connection.createStatement()) {
        s.setQueryTimeout(5);
        s.execute("SELECT 1");
      }
      return;
    }
    try (PreparedStatement s = connection.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
      s.setLong(1, key);
      s.setQueryTimeout(5);
      try (ResultSet r = s.executeQuery()) {
        if (r.next() && r.getBoolean(1)) {
          held = true;
          log.info("holds the '{}' lease: this node runs the periodic work", name);
        }
      }
    }
  }

  private void closeConnection() {
    Connection c = connection;
    connection = null;
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // already gone
      }
    }
  }
}
