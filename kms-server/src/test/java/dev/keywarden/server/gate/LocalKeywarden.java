package dev.keywarden.server.gate;

import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.server.auth.AccessControl;
import dev.keywarden.server.auth.Capabilities;
import dev.keywarden.server.auth.PolicyStore;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.auth.jwt.JwtAuth;
import dev.keywarden.server.auth.jwt.JwtRoleRecords;
import dev.keywarden.server.grpc.HealthReporter;
import dev.keywarden.server.grpc.InterceptorChain;
import dev.keywarden.server.grpc.JwtAuthGrpcService;
import dev.keywarden.server.grpc.PkiGrpcService;
import dev.keywarden.server.grpc.PolicyGrpcService;
import dev.keywarden.server.grpc.SystemGrpcService;
import dev.keywarden.server.grpc.TokenGrpcService;
import dev.keywarden.server.grpc.TransitGrpcService;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.transit.TransitEngine;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The server's gRPC services, gate and interceptors as the server wires them, over real Netty on loopback, with the
 * software KEK and SQLite in a temporary directory: fast enough to walk every RPC in a unit test.
 */
final class LocalKeywarden implements AutoCloseable {
  final Storage storage;
  final Core core;
  final TokenStore tokens;
  final PolicyStore policies;
  final AccessControl access;
  final Gate gate;
  final InboundMessages inbound;
  final JwtAuth jwt;
  final List<GuardedService> services = new ArrayList<>();
  final Server server;
  final ManagedChannel channel;
  final String rootToken;

  LocalKeywarden(Path dir, long inFlightBudget) throws IOException {
    storage = SqliteStorage.open(dir);
    SecureRandom random = new SecureRandom();
    core = new Core(storage, new SoftwareHsmProvider(), random, 1000);
    tokens = new TokenStore(core, Clock.systemUTC(), random);
    Capabilities[] capabilities = new Capabilities[1];
    policies = new PolicyStore(storage, () -> capabilities[0]);
    access = new AccessControl(policies);
    inbound = new InboundMessages(inFlightBudget);
    gate = new Gate(core, List.of(new TokenAuthenticator(tokens)), access, inbound);
    services.add(new SystemGrpcService(core, tokens, policies, gate,
        new HealthReporter(new HealthStatusManager(), core)));
    services.add(new TokenGrpcService(tokens, access, gate));
    services.add(new PolicyGrpcService(policies, gate));
    services.add(new TransitGrpcService(new TransitEngine(core, Clock.systemUTC(), random), gate));
    services.add(new PkiGrpcService(new PkiEngine(core, Clock.systemUTC(), random), gate));
    jwt = new JwtAuth(new JwtRoleRecords(storage), tokens, Clock.systemUTC());
    services.add(new JwtAuthGrpcService(jwt, core, gate));
    List<String> declared = new ArrayList<>();
    services.forEach(s -> declared.addAll(s.rules().capabilities()));
    capabilities[0] = new Capabilities(declared);
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .maxInboundMessageSize(InboundMessages.MAX_MESSAGE_BYTES)
        .intercept(new InterceptorChain(new SimpleMeterRegistry()));
    services.forEach(b::addService);
    server = b.build().start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext()
        .maxInboundMessageSize(64 << 20).build();
    InitResult init = core.initialize(1, 1, null, false, tokens::initialize);
    rootToken = init.rootToken();
    core.submitUnsealShare(init.shares().get(0));
  }

  /** Call credentials that send {@code token} as a bearer token. */
  static CallCredentials bearer(String token) {
    return new CallCredentials() {
      @Override
      public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
        Metadata m = new Metadata();
        m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        applier.apply(m);
      }
    };
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    core.shutdown();
    storage.close();
  }
}
