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
 * every call on one pool of its own.
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
          long fast = threadsNamed("grpc-fast-");
          assertTrue(fast >= 1 && fast <= GrpcExecutor.FAST_THREADS, "Encrypt and Decrypt ran on the pool: " + fast);
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
}
