package dev.keywarden.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.storage.PostgresSettings;
import dev.keywarden.storage.PostgresStorage;
import dev.keywarden.storage.testing.PostgresServer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Two servers' policy stores on one PostgreSQL: a policy deleted or rewritten on one stops granting on the other. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PolicyFeedPostgresTest {
  private static PostgresServer server;
  private static String url;

  @BeforeAll
  static void startServer() {
    server = PostgresServer.start();
    url = server.createDatabase("policies");
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  private static PolicyStore store(PostgresStorage s) {
    return new PolicyStore(s, () -> new Capabilities(List.of("encrypt", "decrypt")));
  }

  @Test
  void aPolicyDeletedOnOneNodeStopsGrantingOnTheOtherWithinASecond() throws Exception {
    try (PostgresStorage a = PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null));
        PostgresStorage b = PostgresStorage.open(new PostgresSettings(url, PostgresServer.SUPERUSER, null))) {
      PolicyStore onA = store(a);
      PolicyStore onB = store(b);
      onB.write("app", "{\"rules\":[{\"resource\":\"transit/keys/a\",\"capabilities\":[\"encrypt\"]}]}");
      assertTrue(onA.find("app").isPresent()); // cached on A
      onB.write("app", "{\"rules\":[{\"resource\":\"transit/keys/a\",\"capabilities\":[\"decrypt\"]}]}");
      long rewritten = waitFor(() -> onA.find("app").map(p -> p.toJson().contains("decrypt")).orElse(false));
      onB.delete("app");
      long deleted = waitFor(() -> onA.find("app").isEmpty());
      System.out.println("policy change on node B seen on node A after " + rewritten + " ms, deletion after "
          + deleted + " ms");
      assertEquals(Optional.empty(), onA.find("app"));
    }
  }

  private static long waitFor(java.util.function.BooleanSupplier seen) throws InterruptedException {
    long t0 = System.nanoTime();
    while (!seen.getAsBoolean()) {
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1), "not seen within 1 s");
      Thread.sleep(5);
    }
    return (System.nanoTime() - t0) / 1_000_000;
  }
}
