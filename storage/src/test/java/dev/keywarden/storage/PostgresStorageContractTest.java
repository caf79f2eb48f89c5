package dev.keywarden.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.keywarden.storage.testing.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The storage contract on a real PostgreSQL (one database for this class, emptied before each test). */
class PostgresStorageContractTest extends StorageContractTest {
  private static final String DATABASE = "contract";
  private static String url;

  @BeforeAll
  static void createDatabase() {
    url = PostgresServer.shared().createDatabase(DATABASE);
  }

  @Override
  protected Storage newStorage() {
    PostgresStorage storage = PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null));
    try (Connection c = PostgresServer.shared().superuser(DATABASE); Statement s = c.createStatement()) {
      s.execute("TRUNCATE kv");
    } catch (SQLException e) {
      storage.close();
      throw new IllegalStateException(e);
    }
    return storage;
  }

  @Override
  protected Storage reopen() {
    return PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null));
  }

  @Override
  protected int modelExamples() {
    return 100; // every write is a commit with an fsync on a shared machine: the model still sees ~2,000 operations
  }

  @Test
  void kindIsPostgresql() {
    assertEquals("postgresql", storage.kind());
  }
}
