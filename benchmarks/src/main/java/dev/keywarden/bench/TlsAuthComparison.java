package dev.keywarden.bench;

import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.pki.IssuedWithKey;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.pki.RequestedNames;
import dev.keywarden.pki.Role;
import dev.keywarden.server.auth.PolicyStore;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.auth.cert.CertRole;
import dev.keywarden.server.auth.cert.CertRoleRecords;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.grpc.HealthReporter;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Unary 1 KiB Encrypt over TLS, authenticated two ways on the same server and connections setup: a bearer token,
 * and a per-call client certificate (no token) that a cert role accepts. Both callers hold the same non-root policy,
 * so the difference is the authenticators'. The in-flight count is chosen for the token run, and the runs go token,
 * certificate, certificate, token, so drifting load on a shared machine hits both alike.
 */
final class TlsAuthComparison {
  /** The done-when: per-call certificates cost at most 10% of the token rate. */
  static final double TARGET_RATIO = 0.90;

  private TlsAuthComparison() {}

  /** Starts a TLS server whose certificate {@code plain}'s PKI issues, measures, and returns the Markdown section. */
  static String run(ServerRuntime plain, Path dir) throws Exception {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    PkiEngine serverCa = plain.bean(PkiEngine.class);
    IssuerInfo serverRoot = serverCa.generateRoot("Bench TLS Root", KeyType.EC_P256, Duration.ofDays(2),
        Optional.empty());
    serverCa.writeRole(Role.builder("bench-server").allowLocalhost(true).allowIpSans(true).serverFlag(true).build());
    IssuedWithKey serverCert = serverCa.issue("bench-server", new RequestedNames(Optional.of("localhost"),
        List.of("localhost"), List.of(loopback), List.of()), Optional.empty(), Optional.empty());
    Files.createDirectories(dir);
    Path certFile = Files.writeString(dir.resolve("server.pem"), serverCert.certificate().certificatePem());
    Path keyFile = Files.writeString(dir.resolve("server-key.pem"), serverCert.privateKeyPem());
    ServerSettings settings = new ServerSettings(dir.resolve("storage"),
        new HostPort(loopback.getHostAddress(), GrpcLoadBenchmark.freePort(loopback)),
        new HostPort(loopback.getHostAddress(), GrpcLoadBenchmark.freePort(loopback)),
        null, null, 16, certFile, keyFile).validate();
    List<ManagedChannel> channels = new ArrayList<>();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, null, false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      server.bean(HealthReporter.class).refresh();
      server.bean(PolicyStore.class).write("bench", "{\"rules\":[{\"resource\":\"transit/keys/"
          + GrpcLoadBenchmark.KEY + "\",\"capabilities\":[\"encrypt\"]}]}");
      String token = server.bean(TokenStore.class).create(List.of("bench"), Duration.ofDays(1), "bench").token();

      PkiEngine pki = server.bean(PkiEngine.class);
      IssuerInfo clientRoot = pki.generateRoot("Bench Client Root", KeyType.EC_P256, Duration.ofDays(2),
          Optional.empty());
      pki.writeRole(Role.builder("bench-client").allowedDomains("bench.internal").allowSubdomains(true)
          .clientFlag(true).build());
      IssuedWithKey client = pki.issue("bench-client", new RequestedNames(Optional.of("client.bench.internal"),
          List.of("client.bench.internal"), List.of(), List.of()), Optional.empty(), Optional.empty());
      server.bean(CertRoleRecords.class).write(new CertRole("bench", List.of(clientRoot.id()), List.of(),
          List.of("client.bench.internal"), List.of(), List.of(), List.of("bench"), null));

      X509Certificate trust = x509(serverRoot.certificatePem());
      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
      List<TransitServiceGrpc.TransitServiceStub> tokenStubs = new ArrayList<>();
      List<TransitServiceGrpc.TransitServiceStub> certStubs = new ArrayList<>();
      for (int i = 0; i < GrpcLoadBenchmark.CHANNELS; i++) {
        ManagedChannel t = channel(server.grpcPort(), GrpcSslContexts.forClient().trustManager(trust));
        ManagedChannel c = channel(server.grpcPort(), GrpcSslContexts.forClient().trustManager(trust)
            .keyManager(stream(client.certificate().certificatePem()), stream(client.privateKeyPem())));
        channels.add(t);
        channels.add(c);
        tokenStubs.add(TransitServiceGrpc.newStub(t).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth)));
        certStubs.add(TransitServiceGrpc.newStub(c));
      }
      TransitServiceGrpc.newBlockingStub(channels.get(0)).withCallCredentials(null)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(rootAuth(init.rootToken())))
          .createKey(CreateKeyRequest.newBuilder().setName(GrpcLoadBenchmark.KEY).setType("aes256-gcm96").build());
      EncryptRequest unary = GrpcLoadBenchmark.request(1, 1024);
      TransitServiceGrpc.newBlockingStub(channels.get(1)).encrypt(unary); // the certificate works before we time it

      GrpcLoadBenchmark tokens = new GrpcLoadBenchmark(tokenStubs);
      GrpcLoadBenchmark certs = new GrpcLoadBenchmark(certStubs);
      System.out.println("TLS: warming up token and certificate calls...");
      tokens.closedLoop(unary, 128, Duration.ZERO, Duration.ofSeconds(6), List.of());
      certs.closedLoop(unary, 128, Duration.ZERO, Duration.ofSeconds(6), List.of());
      System.out.println("TLS unary 1 KiB, token: in-flight sweep...");
      List<GrpcLoadBenchmark.Closed> sweep = new ArrayList<>();
      for (int inFlight : GrpcLoadBenchmark.UNARY_IN_FLIGHT) {
        GrpcLoadBenchmark.Closed c = tokens.closedLoop(unary, inFlight, Duration.ofSeconds(1), Duration.ofSeconds(2),
            List.of());
        System.out.printf(Locale.ROOT, "  %4d in flight: %,.0f calls/s%n", inFlight, c.callsPerSecond());
        sweep.add(c);
      }
      int inFlight = sweep.stream().max(Comparator.comparingDouble(GrpcLoadBenchmark.Closed::callsPerSecond))
          .orElseThrow().inFlight();
      List<GrpcLoadBenchmark.Closed> tokenRuns = new ArrayList<>();
      List<GrpcLoadBenchmark.Closed> certRuns = new ArrayList<>();
      // token, certificate, certificate, token: a load that drifts linearly over the four runs weighs on both alike.
      tokenRuns.add(measure("token", tokens, unary, inFlight));
      certRuns.add(measure("client certificate", certs, unary, inFlight));
      certRuns.add(measure("client certificate", certs, unary, inFlight));
      tokenRuns.add(measure("token", tokens, unary, inFlight));
      return markdown(inFlight, tokenRuns, certRuns);
    } finally {
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
        ch.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static GrpcLoadBenchmark.Closed measure(String what, GrpcLoadBenchmark b, EncryptRequest unary,
      int inFlight) throws InterruptedException {
    GrpcLoadBenchmark.Closed c = b.closedLoop(unary, inFlight, GrpcLoadBenchmark.WARMUP, GrpcLoadBenchmark.MEASURE,
        List.of());
    System.out.printf(Locale.ROOT, "  TLS %s: %,.0f calls/s, %d errors%n", what, c.callsPerSecond(), c.errors());
    return c;
  }

  private static String markdown(int inFlight, List<GrpcLoadBenchmark.Closed> tokenRuns,
      List<GrpcLoadBenchmark.Closed> certRuns) {
    double token = mean(tokenRuns);
    double cert = mean(certRuns);
    long errors = tokenRuns.stream().mapToLong(GrpcLoadBenchmark.Closed::errors).sum()
        + certRuns.stream().mapToLong(GrpcLoadBenchmark.Closed::errors).sum();
    double ratio = cert / token;
    StringBuilder s = new StringBuilder();
    s.append("\n## TLS: token vs per-call client certificate\n\n");
    s.append("- Setup: a second server (`ServerRuntime`, TLS from `--tls-cert/--tls-key`, client certificates asked")
        .append(" for) in the same JVM; ").append(GrpcLoadBenchmark.CHANNELS).append(" TLS channels per kind; both")
        .append(" callers hold the same non-root policy (encrypt on the key); the certificate is an EC P-256 leaf of")
        .append(" the server's own PKI matched by a cert role (no token); unary 1 KiB Encrypt, closed loop at ")
        .append(inFlight).append(" in flight (the token sweep's best); runs in the order token, certificate,")
        .append(" certificate, token, ").append(GrpcLoadBenchmark.WARMUP.toSeconds()).append(" s warm-up and ")
        .append(GrpcLoadBenchmark.MEASURE.toSeconds()).append(" s measured each; CPU: ")
        .append(GrpcLoadBenchmark.cpuModel()).append(", cores available: ")
        .append(Runtime.getRuntime().availableProcessors()).append(".\n\n");
    s.append("| Scenario | Measured | Target | Met |\n|---|---:|---|:---:|\n");
    s.append("| TLS unary 1 KiB, bearer token | ").append(GrpcLoadBenchmark.fmt(token)).append(" calls/s (runs: ")
        .append(runs(tokenRuns)).append(") | | |\n");
    s.append("| TLS unary 1 KiB, per-call client certificate | ").append(GrpcLoadBenchmark.fmt(cert))
        .append(" calls/s (runs: ").append(runs(certRuns)).append(")").append(errors == 0 ? "" : ", " + errors
            + " ERRORS").append(String.format(Locale.ROOT, " | ≥ %.0f%% of the token rate | ", TARGET_RATIO * 100))
        .append(ratio >= TARGET_RATIO && errors == 0 ? "yes" : "**no**")
        .append(String.format(Locale.ROOT, " (%.1f%%) |\n", ratio * 100));
    return s.toString();
  }

  private static double mean(List<GrpcLoadBenchmark.Closed> runs) {
    return runs.stream().mapToDouble(GrpcLoadBenchmark.Closed::callsPerSecond).average().orElse(0);
  }

  private static String runs(List<GrpcLoadBenchmark.Closed> runs) {
    return String.join(", ", runs.stream().map(r -> GrpcLoadBenchmark.fmt(r.callsPerSecond())).toList());
  }

  private static ManagedChannel channel(int port, SslContextBuilder ssl) throws Exception {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(ssl.build()).overrideAuthority("localhost")
        .directExecutor().build();
  }

  private static Metadata rootAuth(String rootToken) {
    Metadata m = new Metadata();
    m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + rootToken);
    return m;
  }

  private static ByteArrayInputStream stream(String pem) {
    return new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII));
  }

  private static X509Certificate x509(String pem) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(stream(pem));
  }
}
