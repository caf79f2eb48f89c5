package dev.keywarden.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class KeywardenClientTest {
  private static final String TOKEN = "kwt_secret-token-value";
  private FakeKeywarden server;
  private KeywardenClient client;

  @BeforeEach
  void start() throws Exception {
    server = new FakeKeywarden();
    client = client(3, Duration.ofSeconds(10));
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  private KeywardenClient client(int retries, Duration deadline) {
    return KeywardenClient.builder().address(server.address()).plaintext().token(TOKEN).maxRetries(retries)
        .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(40)).deadline(deadline).build();
  }

  @Test
  void encryptThenDecryptSendsTheTokenAsBearerAndTheContext() {
    String ct = client.transit().encrypt("orders", "card 4111".getBytes(UTF_8), "order-7".getBytes(UTF_8));
    assertTrue(ct.startsWith("kw:v1:"), ct);
    assertArrayEquals("card 4111".getBytes(UTF_8), client.transit().decrypt("orders", ct, "order-7".getBytes(UTF_8)));
    assertEquals(List.of("Bearer " + TOKEN, "Bearer " + TOKEN), server.authorizations);
    KeywardenClientException wrongContext = assertThrows(KeywardenClientException.class,
        () -> client.transit().decrypt("orders", ct, "order-8".getBytes(UTF_8)));
    assertEquals(Status.Code.INVALID_ARGUMENT, wrongContext.code());
  }

  @Test
  void idempotentCallsAreRetriedOnUnavailable() {
    server.failNext.set(2);
    assertEquals("orders", client.transit().getKey("orders").getName());
    assertEquals(3, server.count("GetKey"));
    server.failNext.set(2);
    String ct = client.transit().encrypt("orders", new byte[] {1}, null);
    assertEquals(3, server.count("Encrypt"));
    server.failNext.set(1);
    assertArrayEquals(new byte[] {1}, client.transit().decrypt("orders", ct, null));
    assertEquals(2, server.count("Decrypt"));
  }

  @Test
  void retriesStopAfterMaxRetriesWithTheLastError() {
    try (KeywardenClient twice = client(2, Duration.ofSeconds(10))) {
      server.failNext.set(10);
      KeywardenClientException e = assertThrows(KeywardenClientException.class,
          () -> twice.transit().decrypt("orders", "kw:v1:AAAA", null));
      assertEquals(Status.Code.UNAVAILABLE, e.code());
      assertTrue(e.description().contains("HSM is unreachable"), e.getMessage());
      assertEquals(3, server.count("Decrypt"));
    }
  }

  @Test
  void createAndRotateAreNeverRetried() {
    server.failNext.set(1);
    assertEquals(Status.Code.UNAVAILABLE,
        assertThrows(KeywardenClientException.class, () -> client.transit().rotateKey("orders")).code());
    assertEquals(1, server.count("RotateKey"));
    server.failNext.set(1);
    assertThrows(KeywardenClientException.class, () -> client.transit().createKey("orders"));
    assertEquals(1, server.count("CreateKey"));
    assertEquals(2, client.transit().rotateKey("orders").getLatestVersion());
  }

  @Test
  void theDeadlineBoundsACall() {
    try (KeywardenClient quick = client(3, Duration.ofMillis(300))) {
      long start = System.nanoTime();
      KeywardenClientException e = assertThrows(KeywardenClientException.class,
          () -> quick.transit().getKey("slow"));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
      assertTrue(System.nanoTime() - start < Duration.ofSeconds(3).toNanos());
    }
  }

  @Test
  void aFailedBatchItemIsItsOwnResultAndTheOthersSucceed() {
    List<ItemResult<String>> results = client.transit().encrypt("orders",
        List.of("a".getBytes(UTF_8), "bad".getBytes(UTF_8), "c".getBytes(UTF_8)));
    assertEquals(3, results.size());
    assertTrue(results.get(0).isSuccess());
    assertFalse(results.get(1).isSuccess());
    assertEquals(Status.Code.INVALID_ARGUMENT, results.get(1).code());
    assertEquals("bad item", results.get(1).message());
    assertEquals(Status.Code.INVALID_ARGUMENT,
        assertThrows(KeywardenClientException.class, () -> results.get(1).value()).code());
    List<ItemResult<byte[]>> plain = client.transit().decrypt("orders",
        List.of(results.get(2).value(), "garbage", results.get(0).value()));
    assertArrayEquals("c".getBytes(UTF_8), plain.get(0).value());
    assertEquals(Status.Code.INVALID_ARGUMENT, plain.get(1).code());
    assertArrayEquals("a".getBytes(UTF_8), plain.get(2).value());
  }

  @Test
  void aMissingKeyFailsEveryItemAndTheSingleCallThrowsIt() {
    List<ItemResult<String>> results = client.transit().encrypt("missing", List.of(new byte[] {1}, new byte[] {2}));
    assertTrue(results.stream().allMatch(r -> r.code() == Status.Code.NOT_FOUND));
    KeywardenClientException e = assertThrows(KeywardenClientException.class,
        () -> client.transit().encrypt("missing", new byte[] {1}, null));
    assertEquals(Status.Code.NOT_FOUND, e.code());
    assertEquals("no transit key 'missing'", e.description());
    assertEquals("", e.reason());
  }

  @Test
  void aRefusedCallCarriesTheErrorInfoReason() {
    KeywardenClientException e = assertThrows(KeywardenClientException.class,
        () -> client.transit().decrypt("forbidden", List.of("kw:v1:AAAA")));
    assertEquals(Status.Code.PERMISSION_DENIED, e.code());
    assertEquals("CAPABILITY_NOT_GRANTED", e.reason());
    assertEquals("keywarden.dev", e.domain());
    assertEquals("decrypt", e.metadata().get("capability"));
    assertEquals(1, server.count("Decrypt"), "PERMISSION_DENIED is not retried");
  }

  @Test
  void neitherTheClientNorAResultShowsSecrets() {
    assertFalse(client.toString().contains(TOKEN), client.toString());
    assertTrue(client.toString().contains(server.address()));
    ItemResult<byte[]> plain = client.transit().decrypt("orders",
        List.of(client.transit().encrypt("orders", "card 4111".getBytes(UTF_8), null))).get(0);
    assertEquals("ItemResult[OK]", plain.toString());
  }

  @Test
  void theBuilderRefusesWhatCannotWork() {
    assertThrows(IllegalStateException.class, () -> KeywardenClient.builder().plaintext().build());
    assertThrows(IllegalArgumentException.class, () -> KeywardenClient.builder().address("no-port"));
    assertThrows(IllegalArgumentException.class, () -> KeywardenClient.builder().token(" "));
    assertThrows(IllegalArgumentException.class, () -> KeywardenClient.builder().token("kwt_a\nb"));
    assertThrows(IllegalStateException.class, () -> KeywardenClient.builder().address("h:1")
        .tls(java.nio.file.Path.of("ca.pem")).plaintext().build());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> KeywardenClient.builder().address("h:1").tls(java.nio.file.Path.of("/nonexistent/ca.pem")).build());
    assertTrue(missing.getMessage().contains("/nonexistent/ca.pem"), missing.getMessage());
  }
}
