package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Result;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1alpha.ServerReflectionGrpc;
import io.grpc.reflection.v1alpha.ServerReflectionRequest;
import io.grpc.reflection.v1alpha.ServerReflectionResponse;
import io.grpc.reflection.v1alpha.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A server given a bad HSM or data dir says what is wrong; `server --dev` is ready to use. */
class ServerConfigurationIT {
  @TempDir
  Path work;

  @Test
  void aTokenLabelThatIsNotThereIsNamedWithTheLabelsThatAre() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    try (Server server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()),
        "--data-dir", work.resolve("d").toString(), "--pkcs11-library", token.library().toString(),
        "--pkcs11-token", "no-such-token")) {
      Map<String, String> env = Map.of("KEYWARDEN_ADDR", server.addr());
      Result r = cli(env, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString()).failed("FAILED_PRECONDITION", "no-such-token");
      assertTrue(r.err().contains(token.label()), "lists the labels present: " + r.err());
      assertFalse(r.err().contains(new String(token.pin())));
      assertFalse(cli(env, null, "status", "--format", "json").ok().json().get("initialized").asBoolean());
    }
  }

  @Test
  void aLibraryThatWillNotLoadIsAPreconditionFailure() throws Exception {
    Path notALibrary = work.resolve("libnot-pkcs11.so");
    Files.writeString(notALibrary, "this is not a shared object");
    Path pin = work.resolve("pin");
    Files.writeString(pin, "1234");
    try (Server server = startServer(Map.of(), "--data-dir", work.resolve("d").toString(),
        "--pkcs11-library", notALibrary.toString(), "--pkcs11-token", "x")) {
      Map<String, String> env = Map.of("KEYWARDEN_ADDR", server.addr());
      cli(env, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file", pin.toString())
          .failed("FAILED_PRECONDITION", notALibrary.toString());
      assertTrue(cli(env, null, "status").ok().out().contains("Initialized:     false"));
    }
  }

  @Test
  void badServerSettingsStopItWithAMessage() throws Exception {
    Path file = work.resolve("a-file");
    Files.writeString(file, "x");
    assertStartFails("not writable", "--data-dir", file.resolve("sub").toString());
    assertStartFails("does not exist", "--data-dir", work.resolve("d").toString(),
        "--pkcs11-library", "/nonexistent/libpkcs11.so", "--pkcs11-token", "t");
    assertStartFails("plaintext is allowed only on loopback", "--data-dir", work.resolve("d").toString(),
        "--grpc-address", "0.0.0.0:0");
    Path config = work.resolve("bad.yaml");
    Files.writeString(config, "data-dir: /tmp/x\ngrpc-adress: 127.0.0.1:1\n");
    assertStartFails("unknown key 'grpc-adress'", "--config", config.toString());
  }

  @Test
  void aDataDirWhoseDatabaseWasLostAfterInitRefusesToStartInsteadOfOfferingInit() throws Exception {
    Path data = work.resolve("d");
    try (Server server = startServer(Map.of(), "--data-dir", data.toString())) {
      Map<String, String> env = Map.of("KEYWARDEN_ADDR", server.addr());
      cli(env, null, "transit", "list").failed("FAILED_PRECONDITION",
          "not initialized: run `keywarden operator init` first");
      cli(env, null, "operator", "init", "--shares", "1", "--threshold", "1").ok();
      cli(env, null, "transit", "list").failed("FAILED_PRECONDITION", "sealed: the server must be unsealed first");
    }
    assertTrue(Files.readString(data.resolve("keywarden.initialized")).contains("kek_label=keywarden-kek-"));
    Files.write(data.resolve("keywarden.db"), new byte[0]);
    assertStartFails("was initialized on ", "--data-dir", data.toString());
    assertStartFails("is empty (0 bytes): restore keywarden.db from a backup", "--data-dir", data.toString());
    Files.write(data.resolve("keywarden.db"), "not a database at all, just text".repeat(10).getBytes());
    assertStartFails("keywarden.db is damaged: it is not a SQLite database", "--data-dir", data.toString());
  }

  @Test
  void theCliSaysWhenNoServerIsListening() throws Exception {
    String addr = "127.0.0.1:" + KeywardenProcesses.freePort();
    cli(Map.of("KEYWARDEN_ADDR", addr), null, "status").failed("UNAVAILABLE",
        "cannot reach Keywarden at " + addr + ": is the server running? check KEYWARDEN_ADDR (or --addr)");
  }

  private void assertStartFails(String message, String... flags) throws Exception {
    List<String> args = new ArrayList<>(List.of("server", "--http-address", "127.0.0.1:0"));
    args.addAll(List.of(flags));
    Result r = cli(Map.of(), null, args.toArray(String[]::new));
    assertNotEquals(0, r.exit());
    assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
  }

  @Test
  void overTlsTheCliVerifiesTheServerAndReflectionListsTheServices() throws Exception {
    Path cert = work.resolve("cert.pem");
    Path key = work.resolve("key.pem");
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "1",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
        .redirectErrorStream(true).start();
    String opensslOut = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, openssl.waitFor(), opensslOut);
    try (Server server = startServer(Map.of(), "--data-dir", work.resolve("d").toString(),
        "--tls-cert", cert.toString(), "--tls-key", key.toString())) {
      JsonNode status = cli(Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_CACERT", cert.toString()), null,
          "status", "--format", "json").ok().json();
      assertFalse(status.get("initialized").asBoolean());
      Result plaintext = cli(Map.of("KEYWARDEN_ADDR", server.addr()), null, "status");
      assertNotEquals(0, plaintext.exit(), "a plaintext client cannot talk to a TLS server");
      assertTrue(plaintext.err().contains("UNAVAILABLE"), plaintext.err());
      assertTrue(plaintext.err().contains("Keywarden at " + server.addr() + " closed the connection: if the server"
          + " uses TLS, give its CA certificate with --ca-cert (or KEYWARDEN_CACERT)"), plaintext.err());
      Result notACert = cli(Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_CACERT", key.toString()), null,
          "status");
      assertNotEquals(0, notACert.exit());
      assertTrue(notACert.err().contains("cannot use the CA certificate " + key + " (--ca-cert or KEYWARDEN_CACERT)"),
          notACert.err());

      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort)
          .sslContext(GrpcSslContexts.forClient().trustManager(cert.toFile()).build()).build();
      try {
        assertEquals(SERVED, reflectedServices(channel).stream().sorted().toList(), "reflection v1");
        assertEquals(SERVED, reflectedServicesV1alpha(channel).stream().sorted().toList(), "reflection v1alpha");
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /** Every service the server binds, as reflection lists them. */
  private static final List<String> SERVED = List.of("grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection", "keywarden.v1.AuditService", "keywarden.v1.CertAuthService",
      "keywarden.v1.JwtAuthService", "keywarden.v1.JwtService", "keywarden.v1.PkiService",
      "keywarden.v1.PolicyService", "keywarden.v1.SshService", "keywarden.v1.SystemService",
      "keywarden.v1.TokenService", "keywarden.v1.TransitService");

  @Test
  void aReflectionClientNobodyHereWroteReadsTheApiOverReflectionV1AndV1alpha() throws Exception {
    try (Server server = startServer(Map.of(), "--data-dir", work.resolve("d").toString())) {
      for (String version : List.of("v1", "v1alpha")) {
        JsonNode r = NodeReflectionClient.reflect(server.addr(), version);
        List<String> services = new ArrayList<>();
        r.get("services").forEach(s -> services.add(s.asText()));
        assertEquals(SERVED, services.stream().sorted().toList(), version);
        assertTrue(r.get("methods").toString().contains("\"GetStatus\""), version + ": " + r.get("methods"));
        // A stub built from the reflected descriptors (and their imports) makes a real call.
        assertFalse(r.get("status").get("initialized").asBoolean(), version + ": " + r.get("status"));
      }
    }
  }

  private static List<String> reflectedServices(ManagedChannel channel) throws Exception {
    CompletableFuture<List<String>> names = new CompletableFuture<>();
    StreamObserver<io.grpc.reflection.v1.ServerReflectionRequest> requests =
        io.grpc.reflection.v1.ServerReflectionGrpc.newStub(channel)
        .serverReflectionInfo(new StreamObserver<io.grpc.reflection.v1.ServerReflectionResponse>() {
          @Override
          public void onNext(io.grpc.reflection.v1.ServerReflectionResponse r) {
            names.complete(r.getListServicesResponse().getServiceList().stream()
                .map(io.grpc.reflection.v1.ServiceResponse::getName).toList());
          }

          @Override
          public void onError(Throwable t) {
            names.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            names.complete(List.of());
          }
        });
    requests.onNext(io.grpc.reflection.v1.ServerReflectionRequest.newBuilder().setListServices("*").build());
    List<String> result = names.get(20, TimeUnit.SECONDS);
    requests.onCompleted();
    return result;
  }

  @SuppressWarnings("deprecation")
  private static List<String> reflectedServicesV1alpha(ManagedChannel channel) throws Exception {
    CompletableFuture<List<String>> names = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
        .serverReflectionInfo(new StreamObserver<ServerReflectionResponse>() {
          @Override
          public void onNext(ServerReflectionResponse r) {
            names.complete(r.getListServicesResponse().getServiceList().stream()
                .map(ServiceResponse::getName).toList());
          }

          @Override
          public void onError(Throwable t) {
            names.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            names.complete(List.of());
          }
        });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("*").build());
    List<String> result = names.get(20, TimeUnit.SECONDS);
    requests.onCompleted();
    return result;
  }

  @Test
  void theDevServerComesUpUnsealedOnASoftHsmTokenAndPrintsTheRootToken() throws Exception {
    SoftHsmToken.installedLibrary();
    int grpc = KeywardenProcesses.freePort();
    ProcessBuilder pb = new ProcessBuilder(KeywardenProcesses.java(), "-jar",
        KeywardenProcesses.jar().toString(), "server", "--dev", "--grpc-address", "127.0.0.1:" + grpc,
        "--http-address", "127.0.0.1:" + KeywardenProcesses.freePort()).redirectErrorStream(true);
    pb.environment().remove("SOFTHSM2_CONF");
    Process p = pb.start();
    try {
      StringBuilder out = new StringBuilder();
      String rootToken = null;
      Pattern rootLine = Pattern.compile("root token:\\s+(kwt_\\S+)");
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while (rootToken == null && (line = r.readLine()) != null) {
          out.append(line).append('\n');
          Matcher m = rootLine.matcher(line);
          if (m.find()) {
            rootToken = m.group(1);
          }
        }
      }
      assertNotNull(rootToken, "dev server printed a root token:\n" + out);
      assertTrue(out.toString().contains("SoftHSM2 token 'keywarden-dev'"), out.toString());
      Map<String, String> env = Map.of("KEYWARDEN_ADDR", "127.0.0.1:" + grpc, "KEYWARDEN_TOKEN", rootToken);
      JsonNode status = cli(env, null, "status", "--format", "json").ok().json();
      assertFalse(status.get("sealed").asBoolean());
      assertEquals("pkcs11", status.get("hsm_kind").asText());
      assertEquals(1, status.get("threshold").asInt());
      cli(env, null, "policy", "list").ok();
    } finally {
      p.destroy();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    }
  }
}
