package dev.keywarden.storage;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL end of the change feed: one connection that LISTENs on {@link PostgresStorage#CHANNEL}, polled by one
 * daemon thread that hands each notification to the {@link ChangeFeed}. When the connection fails (PostgreSQL
 * restarted, the backend terminated, the network gone) every watcher is reset at once (its cache may miss changes
 * from now on), the thread reconnects with backoff (250 ms, 500 ms, 1 s, then every 2 s) and LISTENs again, and only
 * then resets every watcher again and marks the feed live: whatever was cached in between is dropped.
 */
final class PostgresFeedListener implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PostgresFeedListener.class);
  private static final int POLL_MILLIS = 500;
  /** With no notification for this long, a query checks that the connection still works. */
  private static final long HEARTBEAT_NANOS = TimeUnit.SECONDS.toNanos(5);
  private static final long[] BACKOFF_MILLIS = {250, 500, 1_000, 2_000};

  private final PostgresSettings settings;
  private final ChangeFeed feed;
  private final Thread thread;
  private volatile Connection connection;
  private volatile boolean closed;

  PostgresFeedListener(PostgresSettings settings, ChangeFeed feed) {
    this.settings = settings;
    this.feed = feed;
    this.thread = new Thread(this::run, "keywarden-postgresql-feed");
    this.thread.setDaemon(true);
  }

  /** Driver settings of every connection: a name to find it by, bounded connects, no row data in messages. */
  static Map<String, String> driverProperties(String applicationName) {
    return Map.of(
        "ApplicationName", applicationName,
        "connectTimeout", "5",
        "tcpKeepAlive", "true",
        "logServerErrorDetail", "false");
  }

  /** Whether the LISTEN connection is up (false from its loss until it LISTENs again). */
  boolean connected() {
    return connection != null && !closed;
  }

  /** Connects and LISTENs (so a start-up problem fails {@code open}), then starts polling. */
  void start() throws SQLException {
    connection = listen();
    thread.start();
  }

  private Connection listen() throws SQLException {
    Properties p = new Properties();
    p.putAll(driverProperties(PostgresStorage.LISTENER_APPLICATION));
    p.setProperty("user", settings.user());
    if (settings.password() != null) {
      p.setProperty("password", settings.password());
    }
    Connection c = DriverManager.getConnection(settings.url(), p);
    try (Statement s = c.createStatement()) {
      s.execute("LISTEN " + PostgresStorage.CHANNEL);
    } catch (SQLException e) {
      closeQuietly(c);
      throw e;
    }
    return c;
  }

  private void run() {
    long lastHeard = System.nanoTime();
    int failures = 0;
    while (!closed) {
      Connection c = connection;
      if (c == null) {
        try {
          c = listen();
          connection = c;
          lastHeard = System.nanoTime();
          log.info("the change feed is connected to PostgreSQL again; every storage watcher is reset");
          failures = 0;
          feed.resetAll(true);
        } catch (SQLException e) {
          if (failures == 0) {
            log.warn("the change feed cannot reconnect to PostgreSQL yet: {}; retrying",
                PostgresFailures.describe(e));
          }
          sleep(BACKOFF_MILLIS[Math.min(failures++, BACKOFF_MILLIS.length - 1)]);
        }
        continue;
      }
      try {
        PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications(POLL_MILLIS);
        if (notifications != null && notifications.length > 0) {
          lastHeard = System.nanoTime();
          for (PGNotification n : notifications) {
            dispatch(n.getParameter());
          }
        } else if (System.nanoTime() - lastHeard > HEARTBEAT_NANOS) {
          try (Statement s = c.createStatement()) {
            s.setQueryTimeout(5);
            s.execute("SELECT 1");
          }
          lastHeard = System.nanoTime();
        }
      } catch (SQLException e) {
        if (closed) {
          break;
        }
        log.warn("the change feed lost its PostgreSQL connection ({}); every storage watcher is reset and it "
            + "reconnects", PostgresFailures.describe(e));
        connection = null;
        closeQuietly(c);
        feed.resetAll(false);
      } catch (RuntimeException e) {
        // a bug in dispatching must not end the feed silently: treat it as a lost connection
        log.error("the change feed failed; every storage watcher is reset and it reconnects", e);
        connection = null;
        closeQuietly(c);
        feed.resetAll(false);
      }
    }
    Connection c = connection;
    if (c != null) {
      closeQuietly(c);
    }
  }

  private void dispatch(String payload) {
    if (payload.startsWith("k:")) {
      feed.changed(payload.substring(2));
    } else if (payload.startsWith("p:")) {
      feed.resetOverlapping(payload.substring(2));
    } else {
      // a payload of a newer format: be safe
      log.warn("unknown change feed payload format; every storage watcher is reset");
      feed.resetAll(true);
    }
  }

  private void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      // close() interrupts: the loop ends on `closed`
    }
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException e) {
      log.debug("closing the change feed connection failed: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    Connection c = connection;
    if (c != null) {
      closeQuietly(c);
    }
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
