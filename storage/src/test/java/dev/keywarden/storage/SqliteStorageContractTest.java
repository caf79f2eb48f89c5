package dev.keywarden.storage;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The storage contract on SQLite. */
class SqliteStorageContractTest extends StorageContractTest {
  @TempDir Path dataDir;

  @Override
  protected Storage newStorage() {
    return SqliteStorage.open(dataDir);
  }

  @Override
  protected Storage reopen() {
    return SqliteStorage.open(dataDir);
  }
}
