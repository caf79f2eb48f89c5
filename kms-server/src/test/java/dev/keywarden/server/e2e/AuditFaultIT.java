package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.*;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fail closed, end to end: a socket collector that stops reading makes calls fail UNAVAILABLE within the device's
 * timeout with nothing done (the engine never ran), and they work again once it reads; with a file device enabled as
 * well, calls go on while the socket is stuck. A file device on a full filesystem fails calls closed the same way until
 * space is freed. Health (HTTP 503, gRPC NOT_SERVING) says so meanwhile.
 */
class AuditFaultIT {
  private static final long TIMEOUT_MS = 500;
  private static final long SLACK_MS = 1500;
  @TempDir
  Path work;

  @Test
  void aStuckCollectorFailsCallsUntilItReadsAndAFileDeviceKeepsThemGoing() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    Server server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()), "--data-dir",
        work.resolve("data").toString(), "--pkcs11-library", token.library().toString(), "--pkcs11-token",
        token.label());
    ManagedChannel channel = null;
    try (ServerSocket collector = new ServerSocket()) {
      collector.setReceiveBufferSize(4096);
      collector.bind(new InetSocketAddress("127.0.0.1", 0));
      AtomicReference<Socket> peer = new AtomicReference<>();
      AtomicBoolean reading = new AtomicBoolean(false);
      Thread acceptor = new Thread(() -> {
        try {
          Socket s = collector.accept();
          peer.set(s);
          InputStream in = s.getInputStream();
          byte[] buf = new byte[65536];
          while (true) {
            if (!reading.get()) {
              Thread.sleep(10);
              continue;
            }
            if (in.read(buf) < 0) {
              return;
            }
          }
        } catch (Exception ignored) {
          // closed
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();

      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      var init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString(), "--format", "json").ok().json();
      cli(anon, null, "operator", "unseal", init.get("shares").get(0).asText()).ok();
      String root = init.get("root_token").asText();
      channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort).usePlaintext().build();
      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + root);
      var transit = TransitServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
      var audit = AuditServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
      transit.createKey(CreateKeyRequest.newBuilder().setName("k").build());
      audit.enableAuditDevice(EnableAuditDeviceRequest.newBuilder().setName("ship")
          .setSocket(AuditSocketDevice.newBuilder().setAddress("tcp:127.0.0.1:" + collector.getLocalPort()))
          .setTimeout(com.google.protobuf.util.Durations.fromMillis(TIMEOUT_MS)).build());
      EncryptRequest enc = EncryptRequest.newBuilder().setName("k")
          .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("x"))).build();

      // fill the collector's buffers until the device is stuck
      long firstRefusalMs = -1;
      int calls = 0;
      for (; calls < 50_000 && firstRefusalMs < 0; calls++) {
        long t0 = System.nanoTime();
        try {
          transit.encrypt(enc);
        } catch (StatusRuntimeException e) {
          assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
          assertTrue(e.getStatus().getDescription().contains("audit log unavailable"), e.getStatus().toString());
          firstRefusalMs = (System.nanoTime() - t0) / 1_000_000;
        }
      }
      assertTrue(firstRefusalMs >= 0, "no call was refused after " + calls + " calls");
      assertTrue(firstRefusalMs < TIMEOUT_MS + SLACK_MS, "refused after " + firstRefusalMs + " ms");
      // load balancers and gRPC health checks see it: calls would fail closed here
      var health = httpHealth(server);
      assertEquals(503, health.statusCode(), health.body());
      assertTrue(health.body().contains("the audit log is unavailable"), health.body());
      assertEquals(ServingStatus.NOT_SERVING, grpcHealthWithin(channel, ServingStatus.NOT_SERVING));
      // the handler never runs: a key created now does not exist afterwards
      long t0 = System.nanoTime();
      StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
          () -> transit.createKey(CreateKeyRequest.newBuilder().setName("never").build()));
      long nextMs = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());

      reading.set(true);
      long recoveredMs = worksAgainWithin10s(() -> transit.encrypt(enc), "the collector reading");
      assertEquals(200, httpHealth(server).statusCode());
      assertEquals(ServingStatus.SERVING, grpcHealthWithin(channel, ServingStatus.SERVING));
      StatusRuntimeException gone = assertThrows(StatusRuntimeException.class,
          () -> transit.getKey(GetKeyRequest.newBuilder().setName("never").build()));
      assertEquals(Status.Code.NOT_FOUND, gone.getStatus().getCode());

      // with a file device as well, a stuck socket does not stop calls
      audit.enableAuditDevice(EnableAuditDeviceRequest.newBuilder().setName("main")
          .setFile(AuditFileDevice.newBuilder().setPath(work.resolve("audit.log").toString())).build());
      reading.set(false);
      long slowest = 0;
      boolean stuck = false;
      int more = 0;
      for (; more < 50_000 && !stuck; more++) {
        long s0 = System.nanoTime();
        transit.encrypt(enc);
        slowest = Math.max(slowest, (System.nanoTime() - s0) / 1_000_000);
        if (more % 200 == 0) {
          stuck = audit.listAuditDevices(ListAuditDevicesRequest.getDefaultInstance()).getDevicesList().stream()
              .anyMatch(d -> d.getName().equals("ship") && !d.getState().equals("HEALTHY"));
        }
      }
      assertTrue(stuck, "the socket never got stuck");
      for (int i = 0; i < 50; i++) {
        long s0 = System.nanoTime();
        transit.encrypt(enc);
        slowest = Math.max(slowest, (System.nanoTime() - s0) / 1_000_000);
      }
      assertTrue(slowest < TIMEOUT_MS + SLACK_MS, "slowest call " + slowest + " ms");
      System.out.println("audit e2e: stuck collector after " + calls + " calls: refused after " + firstRefusalMs
          + " ms, then " + nextMs + " ms; works again " + recoveredMs + " ms after it reads; file + stuck socket: "
          + (more + 50) + " calls all served, slowest " + slowest + " ms");
      reading.set(true);
    } finally {
      if (channel != null) {
        channel.shutdownNow();
      }
      server.close();
    }
  }

  @Test
  void aFileDeviceOnAFullDiskFailsCallsClosedUntilSpaceIsFreedAndASecondDeviceKeepsThemGoing() throws Exception {
    // a real full filesystem: a 256 KiB tmpfs (CI and make test run as root, which mounting needs)
    Path mnt = Files.createDirectories(work.resolve("small"));
    run("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mnt.toString());
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    Server server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()), "--data-dir",
        work.resolve("data").toString(), "--pkcs11-library", token.library().toString(), "--pkcs11-token",
        token.label());
    ManagedChannel channel = null;
    try {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      var init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString(), "--format", "json").ok().json();
      cli(anon, null, "operator", "unseal", init.get("shares").get(0).asText()).ok();
      channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort).usePlaintext().build();
      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + init.get("root_token").asText());
      var transit = TransitServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
      var audit = AuditServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
      audit.enableAuditDevice(EnableAuditDeviceRequest.newBuilder().setName("disk")
          .setFile(AuditFileDevice.newBuilder().setPath(mnt.resolve("audit.log").toString()))
          .setTimeout(com.google.protobuf.util.Durations.fromMillis(TIMEOUT_MS)).build());
      transit.createKey(CreateKeyRequest.newBuilder().setName("k").build());
      EncryptRequest enc = EncryptRequest.newBuilder().setName("k")
          .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("x"))).build();
      fill(mnt.resolve("filler"));

      long firstRefusalMs = -1;
      int calls = 0;
      for (; calls < 2_000 && firstRefusalMs < 0; calls++) {
        long t0 = System.nanoTime();
        try {
          transit.encrypt(enc);
        } catch (StatusRuntimeException e) {
          assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
          assertTrue(e.getStatus().getDescription().contains("audit log unavailable"), e.getStatus().toString());
          assertTrue(e.getStatus().getDescription().contains("No space left"), e.getStatus().toString());
          firstRefusalMs = (System.nanoTime() - t0) / 1_000_000;
        }
      }
      assertTrue(firstRefusalMs >= 0, "no call was refused on a full disk after " + calls + " calls");
      assertTrue(firstRefusalMs < TIMEOUT_MS + SLACK_MS, "refused after " + firstRefusalMs + " ms");
      // nothing changes in storage while the log cannot be written
      StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
          () -> transit.createKey(CreateKeyRequest.newBuilder().setName("never").build()));
      assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
      assertEquals(503, httpHealth(server).statusCode());

      Files.delete(mnt.resolve("filler"));
      long recoveredMs = worksAgainWithin10s(() -> transit.encrypt(enc), "space being freed");
      StatusRuntimeException gone = assertThrows(StatusRuntimeException.class,
          () -> transit.getKey(GetKeyRequest.newBuilder().setName("never").build()));
      assertEquals(Status.Code.NOT_FOUND, gone.getStatus().getCode());
      assertEquals(200, httpHealth(server).statusCode());

      // with a second device on another filesystem, the full one no longer stops calls
      audit.enableAuditDevice(EnableAuditDeviceRequest.newBuilder().setName("main")
          .setFile(AuditFileDevice.newBuilder().setPath(work.resolve("audit.log").toString())).build());
      fill(mnt.resolve("filler"));
      int served = 0;
      for (; served < 300; served++) {
        transit.encrypt(enc);
      }
      transit.createKey(CreateKeyRequest.newBuilder().setName("after").build());
      assertEquals(200, httpHealth(server).statusCode());
      System.out.println("audit e2e: full tmpfs after " + calls + " calls: refused after " + firstRefusalMs
          + " ms; works again " + recoveredMs + " ms after space was freed; full disk + second device: " + served
          + " calls served");
    } finally {
      if (channel != null) {
        channel.shutdownNow();
      }
      server.close();
      run("umount", "-l", mnt.toString());
    }
  }

  /** Milliseconds until {@code call} works again (retried every 50 ms); fails after 10 s. */
  private static long worksAgainWithin10s(Runnable call, String after) throws InterruptedException {
    long t0 = System.nanoTime();
    while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10)) {
      try {
        call.run();
        return (System.nanoTime() - t0) / 1_000_000;
      } catch (StatusRuntimeException e) {
        Thread.sleep(50);
      }
    }
    throw new AssertionError("calls did not work again within 10 s of " + after);
  }

  private static void fill(Path file) throws Exception {
    byte[] chunk = new byte[4096];
    try (var out = Files.newOutputStream(file)) {
      while (true) {
        out.write(chunk);
        out.flush();
      }
    } catch (java.io.IOException full) {
      // the filesystem is full
    }
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), String.join(" ", command) + " failed (this test runs as root, as make test and CI"
        + " do): " + out);
  }

  private static java.net.http.HttpResponse<String> httpHealth(Server server) throws Exception {
    return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create("http://127.0.0.1:" + server.httpPort + "/v1/sys/health")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  /** grpc.health.v1 for every service, once it reads {@code want} (it is refreshed every second) or after 5 s. */
  private static ServingStatus grpcHealthWithin(ManagedChannel channel, ServingStatus want) throws Exception {
    var health = HealthGrpc.newBlockingStub(channel);
    ServingStatus now = null;
    for (int i = 0; i < 50 && now != want; i++) {
      now = health.check(HealthCheckRequest.getDefaultInstance()).getStatus();
      if (now != want) {
        Thread.sleep(100);
      }
    }
    return now;
  }
}
