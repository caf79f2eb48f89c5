package dev.keywarden.bench;

import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.audit.AuditDeviceConfig;
import dev.keywarden.audit.AuditLog;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Unary Encrypt of 1 KiB on the real gRPC server, closed loop, with auditing off and with one batched file device,
 * alternating (off, on, off, on) so drift on a shared machine hits both. Issue #12's target: on ≥ 0.7 × off.
 * Args: [in-flight (128)] [seconds per run (10)] [audit file (a temp file)].
 */
public final class AuditOverheadBenchmark {
  public static void main(String[] args) throws Exception {
    int inFlight = args.length > 0 ? Integer.parseInt(args[0]) : 128;
    Duration measure = Duration.ofSeconds(args.length > 1 ? Long.parseLong(args[1]) : 10);
    Path dir = Files.createTempDirectory("kw-bench-audit-");
    Path log = args.length > 2 ? Path.of(args[2]) : dir.resolve("audit.log");
    InetAddress loopback = InetAddress.getLoopbackAddress();
    ServerSettings settings = new ServerSettings(dir.resolve("storage"),
        new HostPort(loopback.getHostAddress(), GrpcLoadBenchmark.freePort(loopback)),
        new HostPort(loopback.getHostAddress(), GrpcLoadBenchmark.freePort(loopback)),
        null, null, 16, null, null).validate();
    List<ManagedChannel> channels = new ArrayList<>();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, null, false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      AuditLog audit = server.bean(AuditLog.class);
      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + init.rootToken());
      List<TransitServiceGrpc.TransitServiceStub> stubs = new ArrayList<>();
      for (int i = 0; i < GrpcLoadBenchmark.CHANNELS; i++) {
        ManagedChannel ch = NettyChannelBuilder.forAddress(loopback.getHostAddress(), server.grpcPort())
            .usePlaintext().directExecutor().build();
        channels.add(ch);
        stubs.add(TransitServiceGrpc.newStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth)));
      }
      TransitServiceGrpc.newBlockingStub(channels.get(0))
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth))
          .createKey(CreateKeyRequest.newBuilder().setName(GrpcLoadBenchmark.KEY).build());
      GrpcLoadBenchmark bench = new GrpcLoadBenchmark(stubs);
      EncryptRequest unary = GrpcLoadBenchmark.request(1, 1024);
      System.out.println("warming up...");
      bench.closedLoop(unary, inFlight, Duration.ZERO, Duration.ofSeconds(5), List.of());
      double[] off = new double[2];
      double[] on = new double[2];
      for (int round = 0; round < 2; round++) {
        off[round] = bench.closedLoop(unary, inFlight, Duration.ofSeconds(2), measure, List.of()).callsPerSecond();
        audit.enable(AuditDeviceConfig.file("bench", log, AuditDeviceConfig.FsyncPolicy.BATCHED));
        var c = bench.closedLoop(unary, inFlight, Duration.ofSeconds(2), measure, List.of());
        on[round] = c.callsPerSecond();
        audit.disable("bench");
        System.out.printf(Locale.ROOT, "round %d: audit off %,.0f calls/s, batched file %,.0f calls/s (%d errors):"
            + " %.2f x%n", round + 1, off[round], on[round], c.errors(), on[round] / off[round]);
      }
      double offAvg = (off[0] + off[1]) / 2;
      double onAvg = (on[0] + on[1]) / 2;
      System.out.printf(Locale.ROOT, "unary Encrypt 1 KiB, %d in flight, %d s runs: off %,.0f/s, batched file"
          + " %,.0f/s, ratio %.2f (target >= 0.70); audit file %,d bytes%n", inFlight, measure.toSeconds(), offAvg,
          onAvg, onAvg / offAvg, Files.size(log));
    } finally {
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
    }
    System.exit(0);
  }
}
