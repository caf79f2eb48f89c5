package dev.keywarden.storage;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.sql.SQLException;

/**
 * PostgreSQL's failures in the words {@link SqliteFailures} uses: a database that cannot be reached or fails a
 * statement is UNAVAILABLE (retry later), a full disk RESOURCE_EXHAUSTED, a refused login or missing database at
 * start FAILED_PRECONDITION naming what to fix. Messages carry pgjdbc's text and the SQLSTATE, never values: the
 * driver runs with {@code logServerErrorDetail=false}, so no row ("Failing row contains …") reaches a message.
 */
final class PostgresFailures {
  private PostgresFailures() {}

  /** SQLSTATEs of a transaction that lost a race and may simply run again. */
  static boolean isConflict(Throwable t) {
    String state = sqlState(t);
    return "40001".equals(state) || "40P01".equals(state);
  }

  /** The failure of a statement; {@code what} is the operation ("writing an entry"). */
  static KeywardenException inUse(String what, SQLException e) {
    String state = sqlState(e);
    if ("53100".equals(state)) {
      return new KeywardenException(Kind.RESOURCE_EXHAUSTED, "storage error: " + what + " failed: the disk of the "
          + "PostgreSQL server is full (53100): free some space there; nothing was written by the failed operation", e);
    }
    return new KeywardenException(Kind.UNAVAILABLE, "storage error: " + what + " failed: " + describe(e), e);
  }

  /** The failure of opening storage at {@code settings} (connecting, migrating, checking the encoding). */
  static KeywardenException atOpen(PostgresSettings settings, Throwable e) {
    String state = sqlState(e);
    String where = "PostgreSQL at " + settings.url() + " as user '" + settings.user() + "'";
    // 28xxx: the server refused the login; 08004: pgjdbc refused to try (e.g. a password is needed and none was given)
    if (state != null && (state.startsWith("28") || "08004".equals(state))) {
      return new KeywardenException(Kind.FAILED_PRECONDITION, "cannot log in to " + where + ": " + describe(e)
          + ". Check the user and the password (--postgres-password-file or KEYWARDEN_POSTGRES_PASSWORD)", e);
    }
    if ("3D000".equals(state)) {
      return new KeywardenException(Kind.FAILED_PRECONDITION, "cannot use " + where + ": " + describe(e)
          + ". Create it (CREATE DATABASE … ENCODING 'UTF8' OWNER …) or fix --postgres-url", e);
    }
    if (state != null && state.startsWith("42")) {
      return new KeywardenException(Kind.FAILED_PRECONDITION, "cannot bring the schema of " + where + " up to date: "
          + describe(e) + ". The user needs to own the database (or have CREATE on its schema public)", e);
    }
    return new KeywardenException(Kind.UNAVAILABLE, "cannot reach " + where + ": " + describe(e)
        + ". Is PostgreSQL running and reachable there? Check --postgres-url", e);
  }

  /**
   * The most specific message in the chain: pgjdbc's own words with the SQLSTATE (e.g. "Connection to
   * 127.0.0.1:5432 refused … (08001)") rather than the pool's "Connection is not available".
   */
  static String describe(Throwable e) {
    Throwable best = e;
    for (Throwable c = e; c != null && c.getCause() != c; c = c.getCause()) {
      if (c instanceof SQLException s && s.getSQLState() != null) {
        best = c;
      }
    }
    String state = sqlState(e);
    String message = best.getMessage() == null ? best.getClass().getSimpleName() : best.getMessage();
    return message + (state == null || message.contains(state) ? "" : " (" + state + ")");
  }

  /** The deepest SQLSTATE in the chain (the pool's own exceptions wrap the driver's). */
  static String sqlState(Throwable t) {
    String state = null;
    for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
      if (c instanceof SQLException s && s.getSQLState() != null) {
        state = s.getSQLState();
      }
    }
    return state;
  }
}
