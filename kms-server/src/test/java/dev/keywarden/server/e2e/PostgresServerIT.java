package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Result;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import dev.keywarden.storage.testing.PostgresServer;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real server process on a real PostgreSQL: init, unseal, transit across a restart; bad database settings. */
class PostgresServerIT {
  private static final String PASSWORD = "pg-password-for-the-it";
  private static PostgresServer postgres;
  private static String url;

  @TempDir Path work;

  @BeforeAll
  static void startPostgres() {
    postgres = PostgresServer.start();
    url = postgres.createDatabase("keywarden");
    postgres.createUser("keywarden", PASSWORD, "keywarden");
  }

  @AfterAll
  static void stopPostgres() {
    postgres.close();
  }

  @Test
  void transitOnPostgresqlSurvivesARestart() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    Path password = work.resolve("pg-password");
    Files.writeString(password, PASSWORD + "\n");
    Map<String, String> serverEnv = Map.of("SOFTHSM2_CONF", token.conf().toString());
    String[] flags = {"--storage", "postgres", "--postgres-url", url, "--postgres-user", "keywarden",
        "--postgres-password-file", password.toString(), "--pkcs11-library", token.library().toString(),
        "--pkcs11-token", token.label()};
    String share;
    String root;
    String ciphertext;
    String rotated;
    try (Server server = startServer(serverEnv, flags)) {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      assertTrue(cli(anon, null, "status").ok().out().contains("Storage:         postgresql"));
      JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString(), "--format", "json").ok().json();
      share = init.get("shares").get(0).asText();
      root = init.get("root_token").asText();
      cli(anon, null, "operator", "unseal", share).ok();
      Map<String, String> env = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", root);
      cli(env, null, "transit", "create-key", "orders").ok();
      ciphertext = cli(env, "card 4111", "transit", "encrypt", "orders", "--context", "o-1").ok().out().trim();
      assertTrue(ciphertext.startsWith("kw:v1:"), ciphertext);
      assertEquals("card 4111", cli(env, null, "transit", "decrypt", "orders", ciphertext, "--context", "o-1").ok()
          .out());
      assertTrue(cli(env, null, "transit", "rotate", "orders").ok().out().contains("version 2"));
      rotated = cli(env, "after rotation", "transit", "encrypt", "orders").ok().out().trim();
      assertTrue(rotated.startsWith("kw:v2:"), rotated);
      assertFalse(server.log.toString().contains(PASSWORD), "the password is never logged");
    }
    try (Connection c = postgres.superuser("keywarden")) {
      assertTrue(rows(c, "SELECT count(*) FROM kv") > 0, "everything went to PostgreSQL");
    }
    try (Server server = startServer(serverEnv, flags)) {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      JsonNode status = cli(anon, null, "status", "--format", "json").ok().json();
      assertTrue(status.get("initialized").asBoolean(), status.toString());
      assertTrue(status.get("sealed").asBoolean(), status.toString());
      cli(anon, null, "operator", "unseal", share).ok();
      Map<String, String> env = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", root);
      assertEquals("card 4111", cli(env, null, "transit", "decrypt", "orders", ciphertext, "--context", "o-1").ok()
          .out());
      assertEquals("after rotation", cli(env, null, "transit", "decrypt", "orders", rotated).ok().out());
      assertFalse(server.log.toString().contains(PASSWORD), "the password is never logged");
    }
  }

  @Test
  void badDatabaseSettingsStopTheServerWithOneLine() throws Exception {
    Path wrong = work.resolve("wrong-password");
    Files.writeString(wrong, "not-" + PASSWORD);
    Result r = assertStartFails("cannot log in to PostgreSQL at " + url + " as user 'keywarden'",
        "--storage", "postgres", "--postgres-url", url, "--postgres-user", "keywarden",
        "--postgres-password-file", wrong.toString());
    assertFalse(r.err().contains("not-" + PASSWORD), "the password is never shown");
    String nowhere = "jdbc:postgresql://127.0.0.1:" + KeywardenProcesses.freePort() + "/keywarden";
    assertStartFails("cannot reach PostgreSQL at " + nowhere, "--storage", "postgres", "--postgres-url", nowhere,
        "--postgres-user", "keywarden");
    assertStartFails("--storage postgres needs --postgres-url", "--storage", "postgres");
  }

  /** The server exits non-zero with {@code message} on one line of standard error, and no stack trace. */
  private static Result assertStartFails(String message, String... flags) throws Exception {
    List<String> args = new ArrayList<>(List.of("server", "--grpc-address", "127.0.0.1:0", "--http-address",
        "127.0.0.1:0"));
    args.addAll(List.of(flags));
    Result r = cli(Map.of(), null, args.toArray(String[]::new));
    assertNotEquals(0, r.exit());
    assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    List<String> errorLines = r.err().lines().filter(l -> l.startsWith("Error: ")).toList();
    assertEquals(1, errorLines.size(), r.err());
    assertTrue(errorLines.get(0).contains(message), r.err());
    return r;
  }

  private static long rows(Connection c, String sql) throws Exception {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
