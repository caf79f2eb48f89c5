package dev.keywarden.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.config.ServerSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `keywarden server`'s storage flags: SQLite by default, PostgreSQL with a password never taken from a flag. */
class ServerCommandStorageTest {
  private static final String URL = "jdbc:postgresql://127.0.0.1:5432/keywarden";
  @TempDir Path dir;

  @Test
  void sqliteInTheDataDirIsTheDefault() throws Exception {
    ServerCommand c = new ServerCommand();
    c.dataDir = dir;
    ServerSettings s = c.settings(null, Map.of());
    assertEquals("sqlite", s.storageKind());
    assertNull(s.postgres());
    assertEquals(dir, s.dataDir());
  }

  @Test
  void postgresTakesItsPasswordFromAFile() throws Exception {
    Path password = Files.writeString(dir.resolve("pw"), "s3cret-pw\n");
    ServerCommand c = postgres();
    c.postgresPasswordFile = password;
    ServerSettings s = c.settings(null, Map.of(ServerCommand.POSTGRES_PASSWORD_ENV, "from-env"));
    assertEquals("postgresql", s.storageKind());
    assertEquals(URL, s.postgres().url());
    assertEquals("kw", s.postgres().user());
    assertEquals("s3cret-pw", s.postgres().password(), "the file wins over the environment; no newline");
    assertNull(s.dataDir());
    assertFalse(s.toString().contains("s3cret-pw"), s.toString());
  }

  @Test
  void postgresTakesItsPasswordFromTheEnvironmentOrNone() throws Exception {
    assertEquals("from-env", postgres().settings(null, Map.of(ServerCommand.POSTGRES_PASSWORD_ENV, "from-env"))
        .postgres().password());
    assertNull(postgres().settings(null, Map.of()).postgres().password(), "trust or certificate logins need none");
  }

  @Test
  void theConfigFileHasTheSameKeys() throws Exception {
    Path password = Files.writeString(dir.resolve("pw"), "from-file");
    Path config = Files.writeString(dir.resolve("server.yaml"), "storage: postgres\npostgres-url: " + URL
        + "\npostgres-user: kw\npostgres-password-file: " + password + "\n");
    ServerCommand c = new ServerCommand();
    c.config = config;
    ServerSettings s = c.settings(null, Map.of());
    assertEquals(URL, s.postgres().url());
    assertEquals("from-file", s.postgres().password());
  }

  @Test
  void grpcCallsRunOnMicronautsIoExecutorUnlessAFixedPoolIsAskedFor() throws Exception {
    ServerCommand byDefault = new ServerCommand();
    byDefault.dataDir = dir;
    assertEquals(0, byDefault.settings(null, Map.of()).grpcThreads());
    ServerCommand fromFile = new ServerCommand();
    fromFile.dataDir = dir;
    fromFile.config = Files.writeString(dir.resolve("threads.yaml"), "grpc-threads: 64\n");
    assertEquals(64, fromFile.settings(null, Map.of()).grpcThreads());
    fromFile.grpcThreads = 8;
    assertEquals(8, fromFile.settings(null, Map.of()).grpcThreads(), "the flag wins");
    fromFile.grpcThreads = -1;
    assertMessage(fromFile, "--grpc-threads must be 0 (the default executors) or 1 to 4096, got -1");
  }

  @Test
  void mistakesAreNamed() throws Exception {
    ServerCommand noUrl = new ServerCommand();
    noUrl.storage = "postgres";
    noUrl.postgresUser = "kw";
    assertMessage(noUrl, "--storage postgres needs --postgres-url");
    ServerCommand noUser = postgres();
    noUser.postgresUser = null;
    assertMessage(noUser, "--storage postgres needs --postgres-user");
    ServerCommand both = postgres();
    both.dataDir = dir;
    assertMessage(both, "with --storage postgres everything is in PostgreSQL, leave --data-dir out");
    ServerCommand sqliteWithUrl = new ServerCommand();
    sqliteWithUrl.dataDir = dir;
    sqliteWithUrl.postgresUrl = URL;
    assertMessage(sqliteWithUrl, "go with --storage postgres");
    ServerCommand unknown = new ServerCommand();
    unknown.storage = "mysql";
    assertMessage(unknown, "--storage must be sqlite or postgres, not 'mysql'");
    ServerCommand passwordInUrl = postgres();
    passwordInUrl.postgresUrl = URL + "?password=oops";
    assertMessage(passwordInUrl, "must not carry a password");
    ServerCommand emptyFile = postgres();
    emptyFile.postgresPasswordFile = Files.writeString(dir.resolve("empty"), "");
    assertMessage(emptyFile, "is empty");
    ServerCommand dev = postgres();
    KeywardenException e = assertThrows(KeywardenException.class, () -> dev.settings(dir, Map.of()));
    assertTrue(e.getMessage().contains("--dev always uses a throw-away SQLite store"), e.getMessage());
  }

  private static void assertMessage(ServerCommand c, String part) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> c.settings(null, Map.of()));
    assertTrue(e.getMessage().contains(part), e.getMessage());
    assertFalse(e.getMessage().contains("oops"), e.getMessage());
  }

  private static ServerCommand postgres() {
    ServerCommand c = new ServerCommand();
    c.storage = "postgres";
    c.postgresUrl = URL;
    c.postgresUser = "kw";
    return c;
  }
}
