package dev.keywarden.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.DecryptItem;
import dev.keywarden.api.v1.DecryptRequest;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.gate.InlineCalls;
import dev.keywarden.server.gate.LocalKeywarden;
import dev.keywarden.server.wiring.GrpcExecutor;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real server's executors: calls that change nothing and do not wait (Encrypt, Decrypt, …) run on the small
 * fixed pool; calls that write (CreateKey waits for its commit) run on Micronaut's IO executor; --grpc-threads puts
 * every call on one pool of its own. Encrypt and Decrypt on a warm software key run on the event loop, and are handed
 * to the pool when they would wait: a key's first use, an {@code -hsm} key, a version not yet loaded, a large batch.
 */
class GrpcExecutorIT {
  @TempDir
  Path dir;

  private static long threadsNamed(String prefix) {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith(prefix)).count();
  }

  /** Waits for the pools of servers that earlier tests in this JVM stopped to end their threads. */
  private static void noThreadsLeftNamed(String prefix) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (threadsNamed(prefix) > 0 && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    assertEquals(0, threadsNamed(prefix), "threads of a stopped server's pool still running: " + prefix);
  }

  private void run(int grpcThreads, String expectedPrefix, boolean fastPool) throws Exception {
    noThreadsLeftNamed("grpc-fast-");
    noThreadsLeftNamed("grpc-call-");
    SoftHsmToken token = SoftHsmToken.create();
    ServerSettings settings = new ServerSettings(dir.resolve("data-" + grpcThreads),
        new HostPort("127.0.0.1", KeywardenProcesses.freePort()),
        new HostPort("127.0.0.1", KeywardenProcesses.freePort()), token.library(), token.label(), 4, null, null)
        .withGrpcThreads(grpcThreads).validate();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, token.pin(), false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        TransitServiceGrpc.TransitServiceBlockingStub transit = TransitServiceGrpc.newBlockingStub(channel)
            .withCallCredentials(LocalKeywarden.bearer(init.rootToken()));
        transit.createKey(CreateKeyRequest.newBuilder().setName("orders").setType("aes256-gcm96").build());
        assertEquals(0, threadsNamed("grpc-fast-"), "a write does not run on the pool for calls that do not wait");
        ByteString plain = ByteString.copyFromUtf8("card 4111");
        for (int i = 0; i < 20; i++) {
          String ct = transit.encrypt(EncryptRequest.newBuilder().setName("orders")
              .addItems(EncryptItem.newBuilder().setPlaintext(plain)).build()).getResults(0).getCiphertext();
          assertEquals(plain, transit.decrypt(DecryptRequest.newBuilder().setName("orders")
              .addItems(DecryptItem.newBuilder().setCiphertext(ct)).build()).getResults(0).getPlaintext());
        }
        if (fastPool) {
          // on the event loop that read them (the key is warm: nothing they need waits), or else the fixed pool
          long fast = threadsNamed("grpc-fast-");
          assertTrue(fast <= GrpcExecutor.FAST_THREADS, "Encrypt and Decrypt ran on the fixed pool: " + fast);
          assertTrue(server.bean(InlineCalls.class).ranInline() >= 30, "warm calls ran on the event loop");
        } else {
          assertEquals(0, threadsNamed("grpc-fast-"), "--grpc-threads: one pool for every call");
          assertTrue(threadsNamed(expectedPrefix) >= 1, "every call on the --grpc-threads pool");
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void callsThatDoNotWaitRunOnTheFixedPoolByDefault() throws Exception {
    run(0, "grpc-fast-", true);
  }

  @Test
  void grpcThreadsPutsEveryCallOnOnePool() throws Exception {
    run(3, "grpc-call-", false);
  }

  @Test
  void encryptAndDecryptRunOnTheEventLoopOnlyWhenNothingTheyNeedWaits() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    ServerSettings settings = new ServerSettings(dir.resolve("data-inline"),
        new HostPort("127.0.0.1", KeywardenProcesses.freePort()),
        new HostPort("127.0.0.1", KeywardenProcesses.freePort()), token.library(), token.label(), 4, null, null)
        .validate();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, token.pin(), false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      InlineCalls inline = server.bean(InlineCalls.class);
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        TransitServiceGrpc.TransitServiceBlockingStub transit = TransitServiceGrpc.newBlockingStub(channel)
            .withCallCredentials(LocalKeywarden.bearer(init.rootToken()));
        transit.createKey(CreateKeyRequest.newBuilder().setName("orders").setType("aes256-gcm96").build());
        transit.createKey(CreateKeyRequest.newBuilder().setName("vault").setType("aes256-gcm96-hsm").build());
        ByteString plain = ByteString.copyFromUtf8("card 4111");
        String first = encrypt(transit, "orders", plain, 1).getResults(0).getCiphertext();
        // warm (the key made here is loaded): every Encrypt and Decrypt on the event loop, answers unchanged
        long inline1 = inline.ranInline();
        for (int i = 0; i < 10; i++) {
          String ct = encrypt(transit, "orders", plain, 1).getResults(0).getCiphertext();
          assertEquals(plain, decrypt(transit, "orders", ct).getResults(0).getPlaintext());
        }
        assertEquals(plain, decrypt(transit, "orders", first).getResults(0).getPlaintext());
        assertEquals(21, inline.ranInline() - inline1, "warm calls ran inline");
        // an -hsm key's every call is a PKCS#11 call: always on the pool, never inline
        long handed1 = inline.handedOver();
        long inline2 = inline.ranInline();
        for (int i = 0; i < 3; i++) {
          String ct = encrypt(transit, "vault", plain, 1).getResults(0).getCiphertext();
          assertEquals(plain, decrypt(transit, "vault", ct).getResults(0).getPlaintext());
        }
        assertEquals(6, inline.handedOver() - handed1, "-hsm calls handed to the pool");
        assertEquals(0, inline.ranInline() - inline2);
        // a batch larger than an event loop should carry goes to the pool, and is answered in full
        long handed2 = inline.handedOver();
        assertEquals(InlineCalls.MAX_ITEMS + 1,
            encrypt(transit, "orders", plain, InlineCalls.MAX_ITEMS + 1).getResultsCount());
        assertEquals(1, inline.handedOver() - handed2);
        // a version rotated in elsewhere is not loaded yet: its first Decrypt is handed over, the next run inline
        transit.rotateKey(dev.keywarden.api.v1.RotateKeyRequest.newBuilder().setName("orders").build());
        String v2 = encrypt(transit, "orders", plain, 1).getResults(0).getCiphertext();
        assertTrue(v2.startsWith("kw:v2:"), v2);
        assertTrue(inline.handedOver() > handed2, "the new version's first use was handed over");
        // after a seal and an unseal no key is loaded: a key's first use (a storage read, an unwrap in the HSM) is
        // handed over once the caller's token is cached again (GetKey runs on the pool and caches it)
        core.seal();
        core.submitUnsealShare(init.shares().get(0));
        transit.getKey(dev.keywarden.api.v1.GetKeyRequest.newBuilder().setName("orders").build());
        long handed3 = inline.handedOver();
        long inline3 = inline.ranInline();
        assertEquals(plain, decrypt(transit, "orders", first).getResults(0).getPlaintext());
        assertEquals(1, inline.handedOver() - handed3, "a key's first use after the unseal was handed over");
        assertEquals(0, inline.ranInline() - inline3);
        assertEquals(plain, decrypt(transit, "orders", first).getResults(0).getPlaintext());
        assertEquals(1, inline.ranInline() - inline3, "then warm again");
        // operators see both counts
        java.net.http.HttpResponse<String> metrics = java.net.http.HttpClient.newHttpClient().send(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + server.httpPort()
                + "/v1/sys/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertTrue(metrics.body().lines().anyMatch(l -> l.startsWith("keywarden_grpc_calls_inline_total ")
            && Double.parseDouble(l.substring(l.indexOf(' ') + 1)) == inline.ranInline()), metrics.body());
        assertTrue(metrics.body().lines().anyMatch(l -> l.startsWith("keywarden_grpc_calls_handed_over_total ")
            && Double.parseDouble(l.substring(l.indexOf(' ') + 1)) == inline.handedOver()), metrics.body());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static dev.keywarden.api.v1.EncryptResponse encrypt(TransitServiceGrpc.TransitServiceBlockingStub transit,
      String key, ByteString plain, int items) {
    EncryptRequest.Builder r = EncryptRequest.newBuilder().setName(key);
    for (int i = 0; i < items; i++) {
      r.addItems(EncryptItem.newBuilder().setPlaintext(plain));
    }
    return transit.encrypt(r.build());
  }

  private static dev.keywarden.api.v1.DecryptResponse decrypt(TransitServiceGrpc.TransitServiceBlockingStub transit,
      String key, String ciphertext) {
    return transit.decrypt(DecryptRequest.newBuilder().setName(key)
        .addItems(DecryptItem.newBuilder().setCiphertext(ciphertext)).build());
  }
}
