package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.CreateTokenRequest;
import dev.keywarden.api.v1.DecryptItem;
import dev.keywarden.api.v1.DecryptRequest;
import dev.keywarden.api.v1.DeletePolicyRequest;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResult;
import dev.keywarden.api.v1.GenerateRootRequest;
import dev.keywarden.api.v1.GetJwtKeyRequest;
import dev.keywarden.api.v1.GetKeyRequest;
import dev.keywarden.api.v1.GetStatusRequest;
import dev.keywarden.api.v1.GetStatusResponse;
import dev.keywarden.api.v1.ClusterNode;
import dev.keywarden.api.v1.IssueRequest;
import dev.keywarden.api.v1.IssueResponse;
import dev.keywarden.api.v1.JwtKeyVersion;
import dev.keywarden.api.v1.JwtServiceGrpc;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.PolicyServiceGrpc;
import dev.keywarden.api.v1.RevokeRequest;
import dev.keywarden.api.v1.RevokeTokenRequest;
import dev.keywarden.api.v1.RotateKeyRequest;
import dev.keywarden.api.v1.SystemServiceGrpc;
import dev.keywarden.api.v1.TokenServiceGrpc;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.api.v1.WritePolicyRequest;
import dev.keywarden.api.v1.WriteRoleRequest;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import dev.keywarden.server.gate.LocalKeywarden;
import dev.keywarden.storage.testing.PostgresServer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue #14 end to end: three real server processes on one real PostgreSQL and one shared SoftHSM2 token (as with a
 * network HSM), initialized once and each unsealed with the same cluster shares through the real CLI. A change on
 * any node reaches the others within a second; HSM objects one node makes are found by the others; the periodic
 * work moves when its holder is killed; no acknowledged write is lost when a node is killed; PostgreSQL stopping
 * for 5 s and the change feed's connection being cut leave no stale cache and need no restart. The servers are
 * shared by the scenarios, which run in order (the last two kill nodes).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {
  private static final String PASSWORD = "pg-password-for-the-cluster-it";
  /** The issue's bound for a change on one node to reach another's cache. */
  private static final long FEED_BOUND_MILLIS = 1_000;
  /** The issue's bound for another node to take over the periodic work. */
  private static final long LEASE_BOUND_MILLIS = 15_000;

  private PostgresServer postgres;
  private SoftHsmToken token;
  private Path work;
  private final List<Node> nodes = new ArrayList<>();
  private String rootToken;
  private List<String> shares;

  /** One server process and gRPC stubs on it as root. */
  private final class Node implements AutoCloseable {
    final String name;
    final Server server;
    final ManagedChannel channel;

    Node(String name, Server server) {
      this.name = name;
      this.server = server;
      this.channel = NettyChannelBuilder.forTarget(server.addr()).usePlaintext().build();
    }

    TransitServiceGrpc.TransitServiceBlockingStub transit() {
      return transit(rootToken);
    }

    TransitServiceGrpc.TransitServiceBlockingStub transit(String bearer) {
      return TransitServiceGrpc.newBlockingStub(channel).withCallCredentials(LocalKeywarden.bearer(bearer))
          .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    TokenServiceGrpc.TokenServiceBlockingStub tokens() {
      return TokenServiceGrpc.newBlockingStub(channel).withCallCredentials(LocalKeywarden.bearer(rootToken))
          .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    PolicyServiceGrpc.PolicyServiceBlockingStub policies() {
      return PolicyServiceGrpc.newBlockingStub(channel).withCallCredentials(LocalKeywarden.bearer(rootToken))
          .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    PkiServiceGrpc.PkiServiceBlockingStub pki() {
      return PkiServiceGrpc.newBlockingStub(channel).withCallCredentials(LocalKeywarden.bearer(rootToken))
          .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    JwtServiceGrpc.JwtServiceBlockingStub jwt() {
      return JwtServiceGrpc.newBlockingStub(channel).withCallCredentials(LocalKeywarden.bearer(rootToken))
          .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    GetStatusResponse status() {
      return SystemServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .getStatus(GetStatusRequest.getDefaultInstance());
    }

    Map<String, String> env() {
      return Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", rootToken);
    }

    String http() {
      return "http://127.0.0.1:" + server.httpPort;
    }

    /** kill -9: no shutdown hook, no goodbye to PostgreSQL. */
    void kill() throws InterruptedException {
      server.process.destroyForcibly();
      assertTrue(server.process.waitFor(20, TimeUnit.SECONDS), name + " died");
    }

    @Override
    public void close() throws Exception {
      channel.shutdownNow();
      server.close();
    }

    @Override
    public String toString() {
      return name + "(" + server.addr() + ")";
    }
  }

  @BeforeAll
  void startCluster() throws Exception {
    work = Files.createTempDirectory("keywarden-cluster-it");
    postgres = PostgresServer.start();
    String url = postgres.createDatabase("keywarden");
    postgres.createUser("keywarden", PASSWORD, "keywarden");
    token = SoftHsmToken.create();
    Path pin = Files.writeString(work.resolve("pin"), new String(token.pin()));
    Path password = Files.writeString(work.resolve("pg-password"), PASSWORD + "\n");
    Map<String, String> env = Map.of("SOFTHSM2_CONF", token.conf().toString());
    String[] flags = {"--storage", "postgres", "--postgres-url", url, "--postgres-user", "keywarden",
        "--postgres-password-file", password.toString(), "--pkcs11-library", token.library().toString(),
        "--pkcs11-token", token.label()};
    // in parallel: each JVM's start is most of the set-up time; the JWT tick and the CRL refresh every second show
    // where the periodic work runs
    List<CompletableFuture<Server>> starting = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          return startServer(List.of("-Dkeywarden.jwt.tick-period=1s", "-Dkeywarden.pki.crl-refresh-period=1s",
              "-Xmx256m"), env, flags);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    String[] names = {"A", "B", "C"};
    for (int i = 0; i < 3; i++) {
      nodes.add(new Node(names[i], starting.get(i).get(90, TimeUnit.SECONDS)));
    }
    Map<String, String> anon = Map.of("KEYWARDEN_ADDR", a().server.addr());
    JsonNode init = cli(anon, null, "operator", "init", "--shares", "3", "--threshold", "2", "--hsm-pin-file",
        pin.toString(), "--format", "json").ok().json();
    rootToken = init.get("root_token").asText();
    shares = new ArrayList<>();
    init.get("shares").forEach(s -> shares.add(s.asText()));
    // every node with the cluster's shares (two of three, not the same two everywhere), through the CLI
    List<CompletableFuture<Void>> unsealing = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Node n = nodes.get(i);
      List<String> mine = List.of(shares.get(i), shares.get((i + 1) % 3));
      unsealing.add(CompletableFuture.runAsync(() -> {
        try {
          for (String share : mine) {
            cli(Map.of("KEYWARDEN_ADDR", n.server.addr()), null, "operator", "unseal", share).ok();
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    for (CompletableFuture<Void> u : unsealing) {
      u.get(120, TimeUnit.SECONDS);
    }
    for (Node n : nodes) {
      assertFalse(n.status().getSealed(), n + " is unsealed");
      assertEquals("postgresql", n.status().getStorageKind());
    }
  }

  @AfterAll
  void stopCluster() throws Exception {
    for (Node n : nodes) {
      n.close();
    }
    if (postgres != null) {
      postgres.close();
    }
  }

  private Node a() {
    return nodes.get(0);
  }

  private Node b() {
    return nodes.get(1);
  }

  private Node c() {
    return nodes.get(2);
  }

  @Test
  @Order(1)
  void everyNodeListsTheOthersInItsStatus() throws Exception {
    waitFor("every node sees three unsealed servers and one lease holder", 20_000, () -> nodes.stream().allMatch(n -> {
      List<ClusterNode> seen = n.status().getNodesList();
      return seen.size() == 3 && seen.stream().noneMatch(ClusterNode::getSealed)
          && seen.stream().filter(ClusterNode::getHoldsLease).count() == 1;
    }));
    String out = cli(Map.of("KEYWARDEN_ADDR", b().server.addr()), null, "status").ok().out();
    for (Node n : nodes) {
      assertTrue(out.contains(":" + n.server.grpcPort + (n == b() ? " (this one)" : "") + "  unsealed"),
          n + " in: " + out);
    }
    assertEquals(1, out.lines().filter(l -> l.contains("runs periodic work")).count(), out);
  }

  @Test
  @Order(2)
  void anHsmKeyMadeAndRotatedOnOneNodeEncryptsOnTheOthers() throws Exception {
    a().transit().createKey(CreateKeyRequest.newBuilder().setName("vault-hsm").setType("aes256-gcm96-hsm").build());
    // B and C find A's HSM object on first use
    String ct = encrypt(b().transit(), "vault-hsm", "held in the HSM");
    assertTrue(ct.startsWith("kw:v1:"), ct);
    assertEquals("held in the HSM", decrypt(c().transit(), "vault-hsm", ct));
    assertEquals("held in the HSM", decrypt(a().transit(), "vault-hsm", ct));

    a().transit().rotateKey(RotateKeyRequest.newBuilder().setName("vault-hsm").build());
    long took = waitFor("B encrypts with A's new HSM version", FEED_BOUND_MILLIS,
        () -> encrypt(b().transit(), "vault-hsm", "after").startsWith("kw:v2:"));
    System.out.println("ClusterIT: B used the rotated version " + took + " ms after A's rotate returned");
    String v2 = encrypt(b().transit(), "vault-hsm", "after");
    assertEquals("after", decrypt(c().transit(), "vault-hsm", v2));
    assertEquals("held in the HSM", decrypt(b().transit(), "vault-hsm", ct), "the old version still decrypts");
  }

  @Test
  @Order(3)
  void aKeyRotatedOnANodeIsUsedByBWithinASecond() throws Exception {
    a().transit().createKey(CreateKeyRequest.newBuilder().setName("orders").setType("aes256-gcm96").build());
    for (int round = 2; round <= 4; round++) {
      assertTrue(encrypt(b().transit(), "orders", "x").startsWith("kw:v" + (round - 1) + ":"), "B has it cached");
      a().transit().rotateKey(RotateKeyRequest.newBuilder().setName("orders").build());
      String prefix = "kw:v" + round + ":";
      long took = waitFor("B encrypts with version " + round, FEED_BOUND_MILLIS,
          () -> encrypt(b().transit(), "orders", "x").startsWith(prefix));
      System.out.println("ClusterIT: rotation " + round + " used on B after " + took + " ms");
    }
  }

  @Test
  @Order(4)
  void aTokenRevokedOnAIsRefusedOnBAndCWithinASecond() throws Exception {
    writePolicy(a(), "app-encrypt", "{\"rules\":[{\"resource\":\"transit/keys/orders\",\"capabilities\":"
        + "[\"encrypt\",\"decrypt\"]}]}");
    String app = a().tokens().createToken(CreateTokenRequest.newBuilder().addPolicies("app-encrypt").build())
        .getToken();
    String unknown = "kwt_" + "A".repeat(43);
    for (Node n : List.of(b(), c())) {
      encrypt(n.transit(app), "orders", "cached on " + n.name);
      // the refusal's own code path loaded once, so what is timed below is the change reaching the node
      assertEquals(Status.Code.UNAUTHENTICATED, code(() -> encrypt(n.transit(unknown), "orders", "x")));
    }
    a().tokens().revokeToken(RevokeTokenRequest.newBuilder().setToken(app).build());
    long revoked = System.nanoTime();
    List<Long> refusedAfter = new ArrayList<>();
    for (Node n : List.of(b(), c())) {
      waitFor(n + " refuses the revoked token", FEED_BOUND_MILLIS - elapsedMillis(revoked),
          () -> code(() -> encrypt(n.transit(app), "orders", "x")) == Status.Code.UNAUTHENTICATED);
      refusedAfter.add(elapsedMillis(revoked));
    }
    System.out.println("ClusterIT: revoked token refused on B, C " + refusedAfter + " ms after revoke returned");
  }

  @Test
  @Order(5)
  void aPolicyDeletedOnBStopsItsGrantsOnA() throws Exception {
    writePolicy(b(), "short-lived", "{\"rules\":[{\"resource\":\"transit/keys/orders\",\"capabilities\":"
        + "[\"encrypt\"]}]}");
    String app = b().tokens().createToken(CreateTokenRequest.newBuilder().addPolicies("short-lived").build())
        .getToken();
    encrypt(a().transit(app), "orders", "granted on A");
    b().policies().deletePolicy(DeletePolicyRequest.newBuilder().setName("short-lived").build());
    long took = waitFor("A stops granting the deleted policy", FEED_BOUND_MILLIS,
        () -> code(() -> encrypt(a().transit(app), "orders", "x")) == Status.Code.PERMISSION_DENIED);
    System.out.println("ClusterIT: policy deletion on B enforced on A after " + took + " ms");
  }

  @Test
  @Order(6)
  void aCertificateRevokedOnCIsRevokedInTheOcspAnswerOfA() throws Exception {
    // the CA key is made in the HSM by A; B signs with it on first use
    String issuerId = a().pki().generateRoot(GenerateRootRequest.newBuilder().setCommonName("Cluster Root")
        .setKeyType("ec-p256").setBaseUrl(a().http()).build()).getIssuer().getId();
    a().pki().writeRole(WriteRoleRequest.newBuilder().setName("web").setRoleJson("{\"name\":\"web\","
        + "\"allowed_domains\":[\"example.com\"],\"allow_subdomains\":true,\"server_flag\":true,\"ttl\":\"1h\","
        + "\"max_ttl\":\"2h\"}").build());
    IssueResponse leaf = b().pki().issue(IssueRequest.newBuilder().setRole("web").setCommonName("api.example.com")
        .build());
    assertEquals(issuerId, leaf.getIssuerId());
    X509Certificate ca = certificate(leaf.getChainPem(0));
    X509Certificate cert = certificate(leaf.getCertificatePem());
    assertEquals("good", ocsp(a(), ca, cert));
    c().pki().revoke(RevokeRequest.newBuilder().setSerial(leaf.getSerial()).setReason(1).build());
    long took = waitFor("A's OCSP responder says revoked", FEED_BOUND_MILLIS,
        () -> "revoked".equals(ocsp(a(), ca, cert)));
    System.out.println("ClusterIT: C's revocation in A's OCSP answer after " + took + " ms");
    assertEquals("revoked", ocsp(b(), ca, cert));
  }

  @Test
  @Order(7)
  void noStaleCacheSurvivesACutListenerConnection() throws Exception {
    a().transit().createKey(CreateKeyRequest.newBuilder().setName("cut").setType("aes256-gcm96").build());
    assertTrue(encrypt(b().transit(), "cut", "x").startsWith("kw:v1:"), "B has it cached");
    String during = a().tokens().createToken(CreateTokenRequest.newBuilder().addPolicies("app-encrypt").build())
        .getToken();
    encrypt(c().transit(during), "orders", "cached on C");
    assertTrue(postgres.terminateListeners() >= 3, "every node's LISTEN connection was cut");
    // changed while the feeds are away: B must not keep serving version 1, nor C the revoked token
    a().transit().rotateKey(RotateKeyRequest.newBuilder().setName("cut").build());
    a().tokens().revokeToken(RevokeTokenRequest.newBuilder().setToken(during).build());
    long took = waitFor("B sees the rotation made while its feed was cut", 5_000,
        () -> encrypt(b().transit(), "cut", "x").startsWith("kw:v2:"));
    long refused = waitFor("C refuses the token revoked while its feed was cut", 5_000,
        () -> code(() -> encrypt(c().transit(during), "orders", "x")) == Status.Code.UNAUTHENTICATED);
    System.out.println("ClusterIT: during the cut, the rotation was seen on B after " + took + " ms, the revocation "
        + "on C " + refused + " ms later");
    // and once the feed is back, changes arrive as before
    Thread.sleep(2_500);
    a().transit().rotateKey(RotateKeyRequest.newBuilder().setName("cut").build());
    waitFor("B sees the next rotation through the reconnected feed", FEED_BOUND_MILLIS,
        () -> encrypt(b().transit(), "cut", "x").startsWith("kw:v3:"));
    String app = a().tokens().createToken(CreateTokenRequest.newBuilder().addPolicies("app-encrypt").build())
        .getToken();
    encrypt(c().transit(app), "orders", "cached on C");
    a().tokens().revokeToken(RevokeTokenRequest.newBuilder().setToken(app).build());
    waitFor("C refuses a token revoked after the reconnect", FEED_BOUND_MILLIS,
        () -> code(() -> encrypt(c().transit(app), "orders", "x")) == Status.Code.UNAUTHENTICATED);
  }

  @Test
  @Order(8)
  void postgresqlDownForFiveSecondsUnderLoad() throws Exception {
    for (Node n : nodes) {
      encrypt(n.transit(), "orders", "warm");
    }
    Map<Status.Code, AtomicInteger> cryptoFailures = new ConcurrentHashMap<>();
    Map<Status.Code, AtomicInteger> writeFailures = new ConcurrentHashMap<>();
    List<String> unexpected = new CopyOnWriteArrayList<>();
    AtomicInteger cryptoDuringOutage = new AtomicInteger();
    Map<String, AtomicInteger> perNode = new ConcurrentHashMap<>();
    java.util.concurrent.atomic.AtomicLong slowestDuringOutage = new java.util.concurrent.atomic.AtomicLong();
    AtomicBoolean down = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> load = new ArrayList<>();
    for (Node n : nodes) {
      load.add(thread(() -> {
        while (!stop.get()) {
          try {
            long t0 = System.nanoTime();
            String ct = encrypt(n.transit(), "orders", "during the outage");
            assertEquals("during the outage", decrypt(n.transit(), "orders", ct));
            if (down.get()) {
              cryptoDuringOutage.incrementAndGet();
              perNode.computeIfAbsent(n.name, k -> new AtomicInteger()).incrementAndGet();
              slowestDuringOutage.accumulateAndGet(elapsedMillis(t0), Math::max);
            }
          } catch (StatusRuntimeException e) {
            cryptoFailures.computeIfAbsent(e.getStatus().getCode(), k -> new AtomicInteger()).incrementAndGet();
            unexpected.add(n + " encrypt: " + e.getStatus());
          }
        }
      }));
    }
    AtomicInteger written = new AtomicInteger();
    load.add(thread(() -> {
      int i = 0;
      while (!stop.get()) {
        Node n = nodes.get(i % 3);
        try {
          n.transit().createKey(CreateKeyRequest.newBuilder().setName("outage-" + i).setType("aes256-gcm96").build());
          written.incrementAndGet();
        } catch (StatusRuntimeException e) {
          writeFailures.computeIfAbsent(e.getStatus().getCode(), k -> new AtomicInteger()).incrementAndGet();
          if (e.getStatus().getCode() != Status.Code.UNAVAILABLE) {
            unexpected.add(n + " create-key: " + e.getStatus());
          }
        }
        i++;
        sleep(50);
      }
    }));
    load.forEach(Thread::start);
    Thread.sleep(1_000);
    postgres.stopServer();
    down.set(true);
    long stopped = System.nanoTime();
    Thread.sleep(5_000);
    down.set(false);
    postgres.startServer();
    System.out.println("ClusterIT: PostgreSQL down for " + elapsedMillis(stopped) + " ms (with its restart); "
        + "encrypt+decrypt pairs during the 5 s: " + perNode + " (slowest " + slowestDuringOutage.get()
        + " ms), create-key failures " + writeFailures);
    // every node writes again, without a restart
    long restarted = System.nanoTime();
    for (Node n : nodes) {
      waitFor(n + " writes again", 30_000, () -> {
        try {
          n.transit().createKey(CreateKeyRequest.newBuilder().setName("after-outage-" + n.name + System.nanoTime())
              .setType("aes256-gcm96").build());
          return true;
        } catch (StatusRuntimeException e) {
          if (e.getStatus().getCode() != Status.Code.UNAVAILABLE) {
            unexpected.add(n + " create-key after the outage: " + e.getStatus());
          }
          return false;
        }
      });
    }
    System.out.println("ClusterIT: every node wrote again " + elapsedMillis(restarted) + " ms after PostgreSQL "
        + "started");
    stop.set(true);
    for (Thread t : load) {
      t.join(20_000);
    }
    assertTrue(unexpected.isEmpty(), "cached encrypt/decrypt go on and writes fail only UNAVAILABLE: " + unexpected);
    assertTrue(cryptoDuringOutage.get() > 0, "encrypt and decrypt ran while PostgreSQL was down");
    assertEquals(3, perNode.size(), "every node encrypted and decrypted while PostgreSQL was down: " + perNode);
    assertTrue(writeFailures.getOrDefault(Status.Code.UNAVAILABLE, new AtomicInteger()).get() > 0,
        "writes needing storage failed UNAVAILABLE while it was down");
    // the feed is back too: a change on one node reaches the others again
    a().transit().rotateKey(RotateKeyRequest.newBuilder().setName("orders").build());
    String latest = "kw:v" + a().transit().getKey(GetKeyRequest.newBuilder().setName("orders").build()).getKey()
        .getLatestVersion() + ":";
    waitFor("C follows A's rotation after the outage", 5_000,
        () -> encrypt(c().transit(), "orders", "x").startsWith(latest));
  }

  @Test
  @Order(9)
  void killingTheLeaseHolderMovesThePeriodicWorkWithinFifteenSeconds() throws Exception {
    // a JWT key rotated every 10 s: the JWT lifecycle task (ticking every second) makes each next version, on the
    // lease holder only
    cli(a().env(), null, "jwt", "create-key", "lifecycle", "--algorithm", "ES256", "--issuer",
        a().http() + "/lifecycle", "--publish-ahead", "2s", "--rotation-period", "10s", "--max-token-ttl", "1s",
        "--skew", "1s").ok();
    Node holder = waitForValue("one node holds the lease", 20_000, () -> {
      List<ClusterNode> ns = a().status().getNodesList();
      return ns.stream().filter(ClusterNode::getHoldsLease).map(ClusterNode::getAddress).findFirst()
          .flatMap(addr -> nodes.stream().filter(n -> n.server.addr().equals(addr)).findFirst()).orElse(null);
    });
    waitFor("the holder's JWT task made a second version", 20_000,
        () -> versions(holder).size() >= 2);
    // killed 7 s after the newest version, 3 s before the next is due: what is timed is the takeover, not the wait
    // for the next rotation
    Instant killAt = Instant.ofEpochSecond(versions(holder).stream().mapToLong(v -> v.getCreated().getSeconds())
        .max().orElseThrow()).plusSeconds(7);
    while (Instant.now().isAfter(killAt)) {
      killAt = killAt.plusSeconds(10);
    }
    Thread.sleep(Math.max(0, killAt.toEpochMilli() - System.currentTimeMillis()));
    Node other = nodes.stream().filter(n -> n != holder).findFirst().orElseThrow();
    holder.kill();
    Instant killed = Instant.now();
    long killedNanos = System.nanoTime();
    nodes.remove(holder);
    // an issuer whose CRL nobody asked for: only the CRL refresh (on the lease holder) builds and stores it
    String issuerId = other.pki().generateRoot(GenerateRootRequest.newBuilder().setCommonName("After the kill")
        .setKeyType("ec-p256").build()).getIssuer().getId();
    waitFor("another node's status row says it holds the lease", LEASE_BOUND_MILLIS - elapsedMillis(killedNanos),
        () -> other.status().getNodesList().stream()
            .anyMatch(n -> n.getHoldsLease() && !n.getAddress().equals(holder.server.addr())));
    long shown = elapsedMillis(killedNanos);
    // the old holder made its last version 7 s before the kill, so one made in the kill's second is the new holder's
    Instant killSecond = killed.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    waitFor("a JWT version made after the kill (the JWT lifecycle task runs on the new holder)",
        LEASE_BOUND_MILLIS - elapsedMillis(killedNanos), () -> versions(other).stream()
            .anyMatch(v -> !Instant.ofEpochSecond(v.getCreated().getSeconds()).isBefore(killSecond)));
    long jwtRan = elapsedMillis(killedNanos);
    waitFor("the new holder's CRL refresh stored the new issuer's CRL", LEASE_BOUND_MILLIS
        - elapsedMillis(killedNanos), () -> storedCrl(issuerId));
    System.out.println("ClusterIT: after kill -9 of the lease holder, status showed a new holder at " + shown
        + " ms, the JWT lifecycle ran by " + jwtRan + " ms, the CRL refresh by " + elapsedMillis(killedNanos)
        + " ms");
  }

  @Test
  @Order(10)
  void killingANodeDuringAStreamOfWritesLosesNoAcknowledgedWrite() throws Exception {
    assertEquals(2, nodes.size());
    Node victim = nodes.get(0);
    Node survivor = nodes.get(1);
    List<String> acknowledged = Collections.synchronizedList(new ArrayList<>());
    List<String> unexpected = new CopyOnWriteArrayList<>();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicBoolean killing = new AtomicBoolean();
    List<Thread> writers = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      int writer = w;
      writers.add(thread(() -> {
        for (int i = 0; !stop.get(); i++) {
          String name = "stream-" + writer + "-" + i;
          try {
            victim.transit().createKey(CreateKeyRequest.newBuilder().setName(name).setType("aes256-gcm96").build());
            acknowledged.add(name);
          } catch (StatusRuntimeException e) {
            if (!killing.get()) {
              unexpected.add(name + ": " + e.getStatus());
            }
            return; // the node is gone: this write was never acknowledged
          }
        }
      }));
    }
    writers.forEach(Thread::start);
    waitFor("writes acknowledged", 30_000, () -> acknowledged.size() >= 40);
    killing.set(true);
    victim.kill();
    stop.set(true);
    for (Thread t : writers) {
      t.join(20_000);
    }
    nodes.remove(victim);
    assertTrue(unexpected.isEmpty(), unexpected.toString());
    List<String> lost = new ArrayList<>();
    for (String name : List.copyOf(acknowledged)) {
      try {
        survivor.transit().getKey(GetKeyRequest.newBuilder().setName(name).build());
        encrypt(survivor.transit(), name, "still here");
      } catch (StatusRuntimeException e) {
        lost.add(name + ": " + e.getStatus());
      }
    }
    System.out.println("ClusterIT: " + acknowledged.size() + " acknowledged writes before kill -9, lost: " + lost);
    assertTrue(lost.isEmpty(), "acknowledged writes lost: " + lost);
    victim.close();
  }

  // ---- helpers ----------------------------------------------------------------------------------------------------

  private static String encrypt(TransitServiceGrpc.TransitServiceBlockingStub stub, String key, String text) {
    EncryptResult r = stub.encrypt(EncryptRequest.newBuilder().setName(key).addItems(EncryptItem.newBuilder()
        .setPlaintext(ByteString.copyFromUtf8(text))).build()).getResults(0);
    if (r.hasError()) {
      throw new AssertionError("encrypt item failed: " + r.getError());
    }
    return r.getCiphertext();
  }

  private static String decrypt(TransitServiceGrpc.TransitServiceBlockingStub stub, String key, String ciphertext) {
    var r = stub.decrypt(DecryptRequest.newBuilder().setName(key).addItems(DecryptItem.newBuilder()
        .setCiphertext(ciphertext)).build()).getResults(0);
    if (r.hasError()) {
      throw new AssertionError("decrypt item failed: " + r.getError());
    }
    return r.getPlaintext().toStringUtf8();
  }

  private static void writePolicy(Node n, String name, String document) {
    n.policies().writePolicy(WritePolicyRequest.newBuilder().setName(name).setDocument(document).build());
  }

  private static Status.Code code(Runnable call) {
    try {
      call.run();
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  /** Whether PostgreSQL holds a CRL of {@code issuerId} (read directly: asking a server for it would build one). */
  private boolean storedCrl(String issuerId) {
    try (java.sql.Connection c = postgres.superuser("keywarden");
        java.sql.PreparedStatement s = c.prepareStatement("SELECT count(*) FROM kv WHERE key = ?")) {
      s.setString(1, "pki/crls/" + issuerId);
      try (java.sql.ResultSet r = s.executeQuery()) {
        r.next();
        return r.getLong(1) == 1;
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<JwtKeyVersion> versions(Node n) {
    return n.jwt().getJwtKey(GetJwtKeyRequest.newBuilder().setName("lifecycle").build()).getKey().getVersionsList();
  }

  private static X509Certificate certificate(String pem) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }

  /** The status A's HTTP OCSP responder gives {@code cert}: good, revoked or unknown. */
  private static String ocsp(Node n, X509Certificate ca, X509Certificate cert) {
    try {
      CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build()
          .get(CertificateID.HASH_SHA1), new X509CertificateHolder(ca.getEncoded()), new BigInteger(1,
          cert.getSerialNumber().toByteArray()));
      byte[] request = new OCSPReqBuilder().addRequest(id).build().getEncoded();
      HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(n.http()
          + "/v1/pki/ocsp")).header("Content-Type", "application/ocsp-request")
          .POST(HttpRequest.BodyPublishers.ofByteArray(request)).build(), HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(200, r.statusCode());
      OCSPResp resp = new OCSPResp(r.body());
      assertEquals(OCSPResp.SUCCESSFUL, resp.getStatus());
      SingleResp single = ((BasicOCSPResp) resp.getResponseObject()).getResponses()[0];
      Object status = single.getCertStatus();
      return status == null ? "good" : status instanceof RevokedStatus ? "revoked" : "unknown";
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static Thread thread(Runnable r) {
    Thread t = new Thread(r);
    t.setDaemon(true);
    return t;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static long elapsedMillis(long since) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
  }

  /** Polls {@code condition} until true; fails after {@code boundMillis}; returns how long it took. */
  private static long waitFor(String what, long boundMillis, Supplier<Boolean> condition) throws Exception {
    long start = System.nanoTime();
    waitForValue(what, boundMillis, () -> condition.get() ? Boolean.TRUE : null);
    return elapsedMillis(start);
  }

  private static <T> T waitForValue(String what, long boundMillis, Supplier<T> value) throws Exception {
    long start = System.nanoTime();
    long deadline = start + TimeUnit.MILLISECONDS.toNanos(Math.max(0, boundMillis));
    String last = "";
    do {
      try {
        T v = value.get();
        if (v != null) {
          return v;
        }
      } catch (StatusRuntimeException | AssertionError e) {
        last = e.toString();
      }
      Thread.sleep(10);
    } while (System.nanoTime() < deadline);
    fail(what + ": not within " + boundMillis + " ms" + (last.isEmpty() ? "" : " (last: " + last + ")"));
    return null;
  }
}
