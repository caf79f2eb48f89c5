package dev.keywarden.storage;

import dev.keywarden.failure.KeywardenException;
import java.util.Locale;
import java.util.Objects;

/**
 * Where {@link PostgresStorage} connects: a {@code jdbc:postgresql://} URL without credentials, the user and the
 * password (read from a file or the environment by the caller, never given on a command line). The password is never
 * printed.
 *
 * @param poolSize the most connections this node keeps open for reads and writes (the change feed uses one more)
 */
public record PostgresSettings(String url, String user, String password, int poolSize) {
  /** Connections per node unless configured: enough for concurrent commits to share WAL flushes. */
  public static final int DEFAULT_POOL_SIZE = 8;

  public PostgresSettings {
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(user, "user");
    if (!url.startsWith("jdbc:postgresql://")) {
      throw KeywardenException.invalid("the PostgreSQL URL must look like jdbc:postgresql://HOST:PORT/DATABASE, got '"
          + url.replaceAll("[?].*", "?…") + "'");
    }
    if (url.toLowerCase(Locale.ROOT).contains("password=")) {
      // a password in the URL would end up in process listings, shell history and error messages
      throw KeywardenException.invalid("the PostgreSQL URL must not carry a password: give it in a file or in "
          + "KEYWARDEN_POSTGRES_PASSWORD");
    }
    if (user.isBlank()) {
      throw KeywardenException.invalid("a PostgreSQL user is required");
    }
    if (poolSize < 2 || poolSize > 100) {
      throw KeywardenException.invalid("the PostgreSQL pool size must be 2 to 100, not " + poolSize);
    }
  }

  /** Settings with the default pool size. */
  public PostgresSettings(String url, String user, String password) {
    this(url, user, password, DEFAULT_POOL_SIZE);
  }

  @Override
  public String toString() {
    return "PostgresSettings[url=" + url + ", user=" + user + ", password=" + (password == null ? "none" : "***")
        + ", poolSize=" + poolSize + "]";
  }
}
