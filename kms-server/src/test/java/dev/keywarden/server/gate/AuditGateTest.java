package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.*;
import dev.keywarden.audit.AuditVerifier;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gate writes a request and a response record for every call, with secrets only as HMACs. */
class AuditGateTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  Path dir;
  LocalKeywarden kw;

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  private List<JsonNode> records(Path log) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(log)) {
      out.add(JSON.readTree(line));
    }
    return out;
  }

  @Test
  void everyCallAllowedOrDeniedHasARequestAndAResponseRecordAndNoSecretInClear() throws Exception {
    Path log = dir.resolve("audit.log");
    AuditServiceGrpc.AuditServiceBlockingStub audit = AuditServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    audit.enableAuditDevice(EnableAuditDeviceRequest.newBuilder().setName("main")
        .setFile(AuditFileDevice.newBuilder().setPath(log.toString())).build());
    TransitServiceGrpc.TransitServiceBlockingStub transit = TransitServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    transit.createKey(CreateKeyRequest.newBuilder().setName("app").build());
    String plaintext = "attack at dawn, a secret plaintext";
    EncryptResponse enc = transit.encrypt(EncryptRequest.newBuilder().setName("app")
        .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8(plaintext))).build());
    String ciphertext = enc.getResults(0).getCiphertext();
    StatusRuntimeException denied = assertThrows(StatusRuntimeException.class, () ->
        TransitServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer("not-a-token"))
            .encrypt(EncryptRequest.newBuilder().setName("app").build()));
    assertEquals(Status.Code.UNAUTHENTICATED, denied.getStatus().getCode());
    String pem = audit.getAuditPublicKey(GetAuditPublicKeyRequest.getDefaultInstance()).getPublicKeyPem();
    String tokenHash = audit.hashAuditValue(HashAuditValueRequest.newBuilder().setDevice("main")
        .setValue(ByteString.copyFromUtf8(plaintext)).build()).getHmac();

    String text = Files.readString(log);
    for (String secret : List.of(plaintext, ciphertext, kw.rootToken, "not-a-token")) {
      assertFalse(text.contains(secret), "a secret in clear in the log");
    }
    assertTrue(text.contains(tokenHash), "the plaintext's HMAC is in the log");
    List<JsonNode> recs = records(log);
    Map<String, List<String>> byId = recs.stream().filter(r -> r.has("id"))
        .collect(Collectors.groupingBy(r -> r.get("id").asText(),
            Collectors.mapping(r -> r.get("type").asText(), Collectors.toList())));
    // createKey, encrypt, the refused call, getAuditPublicKey (+ hash, whose response may be written already)
    assertTrue(byId.size() >= 4, byId.toString());
    byId.forEach((id, types) -> assertTrue(types.contains("request"), id + " " + types));
    JsonNode encReq = recs.stream().filter(r -> "request".equals(r.path("type").asText())
        && r.path("rpc").asText().endsWith("/Encrypt") && r.path("decision").path("allowed").asBoolean())
        .findFirst().orElseThrow();
    assertEquals("transit/keys/app", encReq.get("resource").asText());
    assertEquals("app", encReq.path("engine").path("name").asText());
    assertEquals(1, encReq.path("batch").path("items").asInt());
    assertTrue(encReq.path("secrets").path("items[0].plaintext").asText().startsWith("hmac-sha256:"));
    assertEquals("token", encReq.path("caller").path("auth_method").asText());
    assertFalse(encReq.path("remote_address").asText().isEmpty());
    JsonNode refused = recs.stream().filter(r -> "request".equals(r.path("type").asText())
        && !r.path("decision").path("allowed").asBoolean(true)).findFirst().orElseThrow();
    assertTrue(refused.path("decision").path("reason").asText().contains("no credentials")
        || !refused.path("decision").path("reason").asText().isEmpty());
    JsonNode encResp = recs.stream().filter(r -> "response".equals(r.path("type").asText())
        && r.path("id").asText().equals(encReq.get("id").asText())).findFirst().orElseThrow();
    assertEquals("OK", encResp.get("status").asText());
    assertTrue(encResp.path("secrets").path("results[0].ciphertext").asText().startsWith("hmac-sha256:"));
    assertEquals(1, encResp.path("batch").path("statuses").path("OK").asInt(), encResp.toString());

    audit.disableAuditDevice(DisableAuditDeviceRequest.newBuilder().setName("main").build());
    var key = dev.keywarden.server.gate.AuditGateTest.publicKey(pem);
    var v = AuditVerifier.verify(List.of(log), key, true);
    assertTrue(v.intact(), v.summary());
  }

  static java.security.PublicKey publicKey(String pem) throws Exception {
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    byte[] der = java.util.Base64.getDecoder().decode(b64.getBytes(StandardCharsets.US_ASCII));
    var spec = new java.security.spec.X509EncodedKeySpec(der);
    for (String alg : List.of("Ed25519", "EC")) {
      try {
        return java.security.KeyFactory.getInstance(alg).generatePublic(spec);
      } catch (java.security.spec.InvalidKeySpecException e) {
        // the other algorithm
      }
    }
    throw new IllegalArgumentException("not an Ed25519 or EC public key");
  }

  @Test
  void aBadFsyncIntervalIsRefusedAsInvalidAndAGoodOneIsListed() {
    AuditServiceGrpc.AuditServiceBlockingStub audit = AuditServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    String path = dir.resolve("audit.log").toString();
    for (com.google.protobuf.Duration bad : List.of(
        com.google.protobuf.Duration.newBuilder().setSeconds(315_576_000_000L).build(), // would overflow nanoseconds
        com.google.protobuf.Duration.newBuilder().setSeconds(-1).build(),
        com.google.protobuf.Duration.newBuilder().setNanos(150_000_000).build())) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> audit.enableAuditDevice(
          EnableAuditDeviceRequest.newBuilder().setName("main").setFile(AuditFileDevice.newBuilder().setPath(path)
              .setFsyncInterval(bad)).build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), bad.toString());
      assertTrue(e.getStatus().getDescription().contains("0 to 100ms"), e.getStatus().getDescription());
    }
    StatusRuntimeException everyRecord = assertThrows(StatusRuntimeException.class, () -> audit.enableAuditDevice(
        EnableAuditDeviceRequest.newBuilder().setName("main").setFile(AuditFileDevice.newBuilder().setPath(path)
            .setFsync(AuditFsync.AUDIT_FSYNC_EVERY_RECORD)
            .setFsyncInterval(com.google.protobuf.Duration.newBuilder().setNanos(2_000_000))).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, everyRecord.getStatus().getCode());
    assertTrue(audit.listAuditDevices(ListAuditDevicesRequest.getDefaultInstance()).getDevicesList().isEmpty());
    AuditDevice d = audit.enableAuditDevice(EnableAuditDeviceRequest.newBuilder().setName("main")
        .setFile(AuditFileDevice.newBuilder().setPath(path)
            .setFsyncInterval(com.google.protobuf.Duration.newBuilder().setNanos(500_000))).build()).getDevice();
    assertEquals(500_000, d.getFsyncInterval().getNanos());
    AuditDevice defaults = audit.enableAuditDevice(EnableAuditDeviceRequest.newBuilder().setName("second")
        .setFile(AuditFileDevice.newBuilder().setPath(dir.resolve("second.log").toString())).build()).getDevice();
    assertEquals(1_000_000, defaults.getFsyncInterval().getNanos(), "the default");

    // a record may wait out a whole interval before it is written: the interval stays within half the timeout
    StatusRuntimeException tooLong = assertThrows(StatusRuntimeException.class, () -> audit.enableAuditDevice(
        EnableAuditDeviceRequest.newBuilder().setName("third").setTimeout(
            com.google.protobuf.Duration.newBuilder().setNanos(100_000_000))
            .setFile(AuditFileDevice.newBuilder().setPath(dir.resolve("third.log").toString())
                .setFsyncInterval(com.google.protobuf.Duration.newBuilder().setNanos(60_000_000))).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, tooLong.getStatus().getCode());
    assertTrue(tooLong.getStatus().getDescription().contains("at most half the device timeout"),
        tooLong.getStatus().getDescription());
    AuditDevice within = audit.enableAuditDevice(EnableAuditDeviceRequest.newBuilder().setName("third")
        .setTimeout(com.google.protobuf.Duration.newBuilder().setNanos(100_000_000))
        .setFile(AuditFileDevice.newBuilder().setPath(dir.resolve("third.log").toString())
            .setFsyncInterval(com.google.protobuf.Duration.newBuilder().setNanos(50_000_000))).build()).getDevice();
    assertEquals(50_000_000, within.getFsyncInterval().getNanos(), "half the timeout is allowed");
  }

  @Test
  void withNoDeviceNothingIsWrittenAndCallsWork() {
    TransitServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken))
        .createKey(CreateKeyRequest.newBuilder().setName("k").build());
    assertFalse(kw.audit.active());
  }

  /**
   * An Encrypt runs while its request record is being written, but its answer leaves only once the record is written:
   * with a collector that stops reading, a large batch's answer waits (the ciphertexts are held), and arrives right
   * after the collector reads again; it never arrives before.
   */
  @Test
  void aHeldAnswerLeavesOnlyOnceItsRequestRecordIsWritten() throws Exception {
    try (java.net.ServerSocket collector = new java.net.ServerSocket()) {
      collector.setReceiveBufferSize(4096);
      collector.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
      java.util.concurrent.atomic.AtomicLong readingSince = new java.util.concurrent.atomic.AtomicLong();
      java.util.concurrent.CountDownLatch read = new java.util.concurrent.CountDownLatch(1);
      Thread acceptor = new Thread(() -> {
        try (java.net.Socket peer = collector.accept()) {
          read.await();
          readingSince.set(System.nanoTime());
          peer.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
        } catch (Exception ignored) {
          // closed
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      AuditServiceGrpc.AuditServiceBlockingStub audit = AuditServiceGrpc.newBlockingStub(kw.channel)
          .withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
      TransitServiceGrpc.TransitServiceBlockingStub transit = TransitServiceGrpc.newBlockingStub(kw.channel)
          .withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
      transit.createKey(CreateKeyRequest.newBuilder().setName("app").build());
      audit.enableAuditDevice(EnableAuditDeviceRequest.newBuilder().setName("ship")
          .setSocket(AuditSocketDevice.newBuilder().setAddress("tcp:127.0.0.1:" + collector.getLocalPort()))
          .setTimeout(com.google.protobuf.util.Durations.fromSeconds(10)).build());
      // each item's plaintext goes into the record as an HMAC: 2,000 items make a record of about 200 KB
      EncryptRequest.Builder big = EncryptRequest.newBuilder().setName("app");
      for (int i = 0; i < 2000; i++) {
        big.addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("item " + i)));
      }
      TransitServiceGrpc.TransitServiceFutureStub async = TransitServiceGrpc.newFutureStub(kw.channel)
          .withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
      com.google.common.util.concurrent.ListenableFuture<EncryptResponse> pending = null;
      for (int i = 0; i < 200 && pending == null; i++) {
        var f = async.encrypt(big.build());
        try {
          f.get(1, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException stillWaiting) {
          try {
            f.get(4, java.util.concurrent.TimeUnit.SECONDS);
            // it was only slow (a loaded machine), not held: the collector's buffers are not full yet
          } catch (java.util.concurrent.TimeoutException held) {
            pending = f;
          }
        }
      }
      assertNotNull(pending, "the collector's buffers never filled");
      Thread.sleep(500);
      assertFalse(pending.isDone(), "the answer left before its request record was written");
      read.countDown();
      EncryptResponse r = pending.get(10, java.util.concurrent.TimeUnit.SECONDS);
      long answeredAt = System.nanoTime();
      assertEquals(2000, r.getResultsCount());
      assertTrue(r.getResults(0).getCiphertext().startsWith("kw:v1:"), r.getResults(0).toString());
      assertTrue(readingSince.get() != 0 && answeredAt >= readingSince.get(), "answered before the collector read");
      audit.disableAuditDevice(DisableAuditDeviceRequest.newBuilder().setName("ship").build());
    }
  }
}
