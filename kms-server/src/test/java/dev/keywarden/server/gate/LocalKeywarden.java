package dev.keywarden.server.gate;

import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.ssh.SshEngine;
import dev.keywarden.audit.AuditLog;
import dev.keywarden.audit.AuditOptions;
import dev.keywarden.server.grpc.AuditGrpcService;
import dev.keywarden.server.auth.AccessControl;
import dev.keywarden.server.auth.Capabilities;
import dev.keywarden.server.auth.PolicyStore;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.auth.jwt.JwtAuth;
import dev.keywarden.server.auth.jwt.JwtRoleRecords;
import dev.keywarden.server.auth.cert.CertAuthenticator;
import dev.keywarden.server.auth.cert.CertRoleRecords;
import dev.keywarden.server.grpc.CertAuthGrpcService;
import dev.keywarden.server.grpc.HealthReporter;
import dev.keywarden.server.wiring.GrpcTls;
import io.grpc.ClientInterceptor;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.stub.MetadataUtils;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import javax.net.ssl.SSLException;
import dev.keywarden.server.grpc.InterceptorChain;
import dev.keywarden.server.grpc.JwtAuthGrpcService;
import dev.keywarden.server.grpc.JwtGrpcService;
import dev.keywarden.jwt.JwtEngine;
import dev.keywarden.server.grpc.PkiGrpcService;
import dev.keywarden.server.grpc.SshGrpcService;
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
 * software KEK and SQLite in a temporary directory: fast enough to walk every RPC in a unit test. With TLS, the
 * server's TLS is the real server's ({@link GrpcTls}: client certificates asked for), its certificate made by OpenSSL.
 */
public final class LocalKeywarden implements AutoCloseable {
  public final Storage storage;
  public final Core core;
  public final TokenStore tokens;
  public final PolicyStore policies;
  public final AccessControl access;
  public final Gate gate;
  public final InboundMessages inbound;
  public final PkiEngine pki;
  /** The JWT signing keys engine, on {@link #jwtClock}. */
  public final JwtEngine jwtKeys;
  /** The clock the JWT signing keys engine reads (tests move it through a key's rotation). */
  public final MovableClock jwtClock = new MovableClock();
  public final JwtAuth jwt;
  public final CertRoleRecords certRoles;
  public final CertAuthenticator certs;
  public final AuditLog audit;
  /** The clock cert auth reads (tests move it to expire certificates). */
  public final MovableClock certClock = new MovableClock();
  public final List<GuardedService> services = new ArrayList<>();
  public final Server server;
  /** Plaintext, or TLS without a client certificate. */
  public final ManagedChannel channel;
  public final String rootToken;
  /** The server's TLS certificate (PEM file); null for plaintext. */
  public final Path serverCert;
  private final List<ManagedChannel> opened = new ArrayList<>();

  public LocalKeywarden(Path dir, long inFlightBudget) throws IOException {
    this(dir, inFlightBudget, false);
  }

  public LocalKeywarden(Path dir, long inFlightBudget, boolean tls) throws IOException {
    this(dir, inFlightBudget, tls, s -> s);
  }

  /** Over the storage {@code wrap} makes of a SQLite store in {@code dir} (e.g. one that records what is written). */
  public LocalKeywarden(Path dir, long inFlightBudget, boolean tls, java.util.function.UnaryOperator<Storage> wrap)
      throws IOException {
    storage = wrap.apply(SqliteStorage.open(dir));
    SecureRandom random = new SecureRandom();
    core = new Core(storage, new SoftwareHsmProvider(), random, 1000);
    tokens = new TokenStore(core, Clock.systemUTC(), random);
    Capabilities[] capabilities = new Capabilities[1];
    policies = new PolicyStore(storage, () -> capabilities[0]);
    access = new AccessControl(policies);
    inbound = new InboundMessages(inFlightBudget);
    pki = new PkiEngine(core, Clock.systemUTC(), random);
    certRoles = new CertRoleRecords(storage);
    certs = new CertAuthenticator(core, certRoles, pki, certClock);
    audit = new AuditLog(core, AuditOptions.defaults("local"));
    gate = new Gate(core, List.of(new TokenAuthenticator(tokens), certs), access, inbound, audit);
    services.add(new SystemGrpcService(core, tokens, policies, gate,
        new HealthReporter(new HealthStatusManager(), core, audit)));
    services.add(new TokenGrpcService(tokens, access, gate));
    services.add(new PolicyGrpcService(policies, gate));
    services.add(new TransitGrpcService(new TransitEngine(core, Clock.systemUTC(), random), gate));
    services.add(new PkiGrpcService(pki, gate));
    services.add(new SshGrpcService(new SshEngine(core, Clock.systemUTC(), random), gate));
    jwtKeys = new JwtEngine(core, jwtClock, random);
    services.add(new JwtGrpcService(jwtKeys, gate));
    services.add(new AuditGrpcService(audit, gate));
    services.add(new CertAuthGrpcService(certRoles, certs, tokens, access, pki, core, gate));
    jwt = new JwtAuth(new JwtRoleRecords(storage), tokens, Clock.systemUTC());
    services.add(new JwtAuthGrpcService(jwt, core, gate));
    List<String> declared = new ArrayList<>();
    services.forEach(s -> declared.addAll(s.rules().capabilities()));
    capabilities[0] = new Capabilities(declared);
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .maxInboundMessageSize(InboundMessages.MAX_MESSAGE_BYTES)
        .intercept(new InterceptorChain(new SimpleMeterRegistry(), InlineCalls.off()));
    if (tls) {
      serverCert = dir.resolve("server.pem");
      Path serverKey = dir.resolve("server-key.pem");
      OpenSsl.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
          serverKey.toString(), "-out", serverCert.toString(), "-days", "2", "-subj", "/CN=localhost",
          "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
      b.sslContext(GrpcTls.serverContext(serverCert, serverKey));
    } else {
      serverCert = null;
    }
    services.forEach(b::addService);
    server = b.build().start();
    channel = tls ? tlsChannel(null, null) : NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().maxInboundMessageSize(64 << 20).build();
    InitResult init = core.initialize(1, 1, null, false, tokens::initialize);
    rootToken = init.rootToken();
    core.submitUnsealShare(init.shares().get(0));
  }

  /** Call credentials that send {@code token} as a bearer token. */
  public static CallCredentials bearer(String token) {
    return new CallCredentials() {
      @Override
      public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
        Metadata m = new Metadata();
        m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        applier.apply(m);
      }
    };
  }

  /**
   * A TLS channel that verifies the server and presents {@code clientCert} (chain PEM) with {@code clientKey}
   * (PKCS#8 PEM), or no client certificate when they are null. Closed with this server.
   */
  public ManagedChannel tlsChannel(String clientCert, String clientKey) throws SSLException {
    SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(serverCert.toFile());
    if (clientCert != null) {
      ssl.keyManager(new ByteArrayInputStream(clientCert.getBytes(StandardCharsets.US_ASCII)),
          new ByteArrayInputStream(clientKey.getBytes(StandardCharsets.US_ASCII)));
    }
    ManagedChannel c = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).sslContext(ssl.build())
        .overrideAuthority("localhost").build();
    opened.add(c);
    return c;
  }

  /** Sends {@code header: value} with every call. */
  public static ClientInterceptor header(Metadata.Key<String> header, String value) {
    Metadata m = new Metadata();
    m.put(header, value);
    return MetadataUtils.newAttachHeadersInterceptor(m);
  }

  /** A clock tests can move forward. */
  public static final class MovableClock extends Clock {
    private volatile Duration offset = Duration.ZERO;

    public void advance(Duration by) {
      offset = offset.plus(by);
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(offset);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }

  @Override
  public void close() throws InterruptedException {
    for (ManagedChannel c : opened) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    audit.close();
    core.shutdown();
    storage.close();
  }
}
