package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.JSON;
import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.auth.jwt.NodeIssuer;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import dev.keywarden.server.grpc.HealthReporter;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keywarden called from other languages, by clients nobody here wrote: Node's grpc-js with @grpc/proto-loader
 * ({@code src/test/node/interop.mjs}) and Python's grpcio with stubs from Debian's protoc and grpc_python_plugin
 * ({@code src/test/python/interop.py}). Each calls every service, grpc health, reflection v1, and reads the
 * google.rpc.Status details of an error; this test checks what they got, and checks their certificates, SSH
 * certificates and JWTs with Java, OpenSSH and nimbus. A missing tool skips its test on a workstation and fails it
 * under CI (CI=true), where {@code make deps} installs them.
 */
class InteropIT {
  /** Debian's python3, whose dist-packages hold python3-grpcio and python3-protobuf. */
  static final String PYTHON = "/usr/bin/python3";
  /** The protos other languages need beside Keywarden's, taken from the jars on the test class path. */
  static final List<String> EXTRA_PROTOS = List.of("google/rpc/status.proto", "google/rpc/error_details.proto",
      "grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto");
  /** What README's examples print: a ciphertext's version prefix and the plaintext; an error's code and reason. */
  static final String README_EXAMPLE_OUTPUT = "kw:v1: card 4111\nNOT_FOUND KEY_NOT_FOUND\n";

  @TempDir
  static Path work;
  static Server server;
  static String rootToken;
  static Path protos;
  static String csrPem;
  static String sshPublicKey;

  @BeforeAll
  static void start() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()), "--data-dir",
        work.resolve("data").toString(), "--pkcs11-library", token.library().toString(), "--pkcs11-token",
        token.label());
    Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
    JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
        pin.toString(), "--format", "json").ok().json();
    cli(anon, null, "operator", "unseal", init.get("shares").get(0).asText()).ok();
    rootToken = init.get("root_token").asText();
    cli(Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", rootToken), null, "transit", "create-key", "orders")
        .ok();

    protos = work.resolve("protos");
    for (String proto : EXTRA_PROTOS) {
      URL resource = InteropIT.class.getClassLoader().getResource(proto);
      assertNotNull(resource, proto + " is on the test class path (grpc-services, proto-google-common-protos)");
      Files.createDirectories(protos.resolve(proto).getParent());
      try (InputStream in = resource.openStream()) {
        Files.copy(in, protos.resolve(proto));
      }
    }
    expectSuccess(List.of("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "csr.key", "-subj", "/CN=api.example.com", "-addext", "subjectAltName=DNS:api.example.com",
        "-out", "csr.pem"));
    csrPem = Files.readString(work.resolve("csr.pem"));
    expectSuccess(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", "alice"));
    sshPublicKey = Files.readString(work.resolve("alice.pub")).strip();
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void nodeGrpcJsCallsEveryServiceHealthReflectionAndReadsErrorDetails() throws Exception {
    NodeIssuer.requireNode();
    NodeIssuer.installPackages();
    Map<String, JsonNode> steps = runClient(NodeIssuer.nodeDir(),
        List.of("node", "interop.mjs", config("node").toString()));

    assertCommonSteps("node", steps);
    JsonNode sign = steps.get("transit_sign");
    assertTrue(sign.get("node_crypto_verifies").asBoolean(), "node's crypto verifies transit's Ed25519 signature");
    assertTrue(sign.get("node_crypto_rejects_other_input").asBoolean());
    JsonNode pki = steps.get("pki");
    assertEquals("CN=api.example.com", pki.get("subject").asText());
    assertEquals("DNS:api.example.com", pki.get("subject_alt_name").asText());
    assertTrue(pki.get("node_crypto_verifies_with_root").asBoolean(), pki.toString());
    JsonNode jwt = steps.get("jwt");
    assertEquals("ES256", jwt.get("jose_alg").asText(), "jose verified the token through the published JWKS");
    assertEquals(jwt.get("active_kid").asText(), jwt.get("jose_kid").asText());
    assertEquals("svc-orders", jwt.get("jose_sub").asText());
    assertEquals(2, jwt.get("jose_tier").asInt());

    ToolRun example = run(NodeIssuer.nodeDir(), List.of("node", "readme-example.mjs"), Map.of("KEYWARDEN_PROTOS",
        keywardenProtos() + java.io.File.pathSeparator + protos));
    assertEquals(README_EXAMPLE_OUTPUT, example.output(), "README's Node.js example");
  }

  @Test
  void pythonGrpcioWithStubsFromDebiansProtocCallsEveryServiceHealthReflectionAndReadsErrorDetails()
      throws Exception {
    require("protoc", "make deps installs Debian's protobuf-compiler");
    require("grpc_python_plugin", "make deps installs Debian's protobuf-compiler-grpc");
    require(PYTHON, "make deps installs Debian's python3-grpcio and python3-protobuf");
    if (run(work, List.of(PYTHON, "-c", "import grpc, google.protobuf")).exit() != 0) {
      missing(PYTHON + " cannot import grpc and google.protobuf (make deps installs python3-grpcio and "
          + "python3-protobuf)");
    }
    Path stubs = generatePythonStubs();

    Map<String, JsonNode> steps = runClient(work, List.of(PYTHON,
        Path.of("src/test/python/interop.py").toAbsolutePath().toString(), config("py").toString(),
        stubs.toString()));

    assertCommonSteps("py", steps);

    ToolRun example = run(work, List.of(PYTHON, Path.of("src/test/python/readme_example.py").toAbsolutePath()
        .toString()), Map.of("PYTHONPATH", stubs.toString()));
    assertEquals(README_EXAMPLE_OUTPUT, example.output(), "README's Python example");
  }

  @Test
  void readmeShowsTheExamplesThisTestRuns() throws IOException {
    String readme = Files.readString(Path.of("../README.md"));
    for (String example : List.of("src/test/node/readme-example.mjs", "src/test/python/readme_example.py")) {
      assertTrue(readme.contains(Files.readString(Path.of(example))), "README shows " + example + " as it is");
    }
  }

  /** Debian's protoc with grpc_python_plugin, as a Python user runs them: no options beyond the output directories. */
  static Path generatePythonStubs() throws Exception {
    Path out = Files.createDirectories(work.resolve("python-stubs"));
    Path keywardenProtos = keywardenProtos();
    List<String> command = new ArrayList<>(List.of("protoc", "-I", keywardenProtos.toString(), "-I",
        protos.toString(), "--python_out=" + out, "--grpc_python_out=" + out,
        "--plugin=protoc-gen-grpc_python=" + which("grpc_python_plugin")));
    try (Stream<Path> files = Files.list(keywardenProtos.resolve("keywarden/v1"))) {
      files.filter(f -> f.toString().endsWith(".proto")).sorted()
          .forEach(f -> command.add(keywardenProtos.relativize(f).toString()));
    }
    command.addAll(List.of("google/rpc/status.proto", "google/rpc/error_details.proto"));
    expectSuccess(command);
    // grpc's own protos are generated from their directories: as grpc/health/v1/health_pb2 the module would hide
    // inside grpcio's `grpc` package, which is not a namespace package. The wire names stay grpc.health.v1.Health.
    List<String> grpcProtos = List.of("protoc", "-I", protos.resolve("grpc/health/v1").toString(), "-I",
        protos.resolve("grpc/reflection/v1").toString(), "--python_out=" + out, "--grpc_python_out=" + out,
        "--plugin=protoc-gen-grpc_python=" + which("grpc_python_plugin"), "health.proto", "reflection.proto");
    expectSuccess(grpcProtos);
    return out;
  }

  /** What both clients must have seen: the same steps, the same values. */
  static void assertCommonSteps(String prefix, Map<String, JsonNode> steps) throws Exception {
    JsonNode status = steps.get("status");
    assertTrue(status.get("initialized").asBoolean());
    assertFalse(status.get("sealed").asBoolean());
    assertEquals("pkcs11", status.get("hsm_kind").asText());

    JsonNode health = steps.get("health");
    Map<String, String> expectedHealth = new HashMap<>();
    expectedHealth.put("", "SERVING");
    HealthReporter.SERVICES.forEach(s -> expectedHealth.put(s, "SERVING"));
    assertEquals(expectedHealth, JSON.convertValue(health.get("serving"), Map.class), "health of every service");
    assertEquals("NOT_FOUND", health.get("unknown_service").asText());

    JsonNode reflection = steps.get("reflection");
    List<String> services = strings(reflection.get("services"));
    assertTrue(services.containsAll(HealthReporter.SERVICES), services.toString());
    assertTrue(services.containsAll(List.of("grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection")),
        services.toString());
    assertEquals("keywarden/v1/transit.proto", reflection.get("transit_file").asText());
    assertEquals(TransitServiceGrpc.getServiceDescriptor().getMethods().stream()
        .map(MethodDescriptor::getBareMethodName).toList(), strings(reflection.get("transit_methods")));

    JsonNode policy = steps.get("policy");
    assertEquals("transit/keys/" + prefix + "-orders",
        policy.get("document").get("rules").get(0).get("resource").asText());
    assertTrue(policy.get("listed").asBoolean());

    JsonNode transit = steps.get("transit");
    assertEquals("aes256-gcm96", transit.get("type").asText());
    assertEquals(List.of("kw:v1:", "kw:v1:"), strings(transit.get("ciphertext_prefixes")));
    JsonNode decrypted = transit.get("decrypted");
    assertEquals("card 5500", decrypted.get(0).asText(), "batch results come back in order");
    assertEquals("INVALID_ARGUMENT", decrypted.get(1).get("code").asText(), "a bad item fails alone");
    assertEquals(3, decrypted.get(1).get("status_code").asInt());
    assertEquals("card 4111", decrypted.get(2).asText());
    assertEquals(2, transit.get("latest_version_after_rotation").asInt());
    assertEquals("kw:v2:", transit.get("encrypt_after_rotation_prefix").asText());
    assertEquals("kw:v2:", transit.get("rewrapped_prefix").asText());
    assertEquals(32, transit.get("data_key_bytes").asInt());
    assertTrue(transit.get("data_key_round_trip").asBoolean());
    assertEquals("[true,false]", steps.get("transit_sign").get("server_verifies").toString());

    JsonNode token = steps.get("token");
    assertEquals(List.of(prefix + "-encrypt-only"), strings(token.get("policies")));
    assertEquals(prefix + "-app", token.get("display_name").asText());
    assertTrue(token.get("accessor_matches").asBoolean());
    assertTrue(token.get("app_encrypts").asBoolean());
    assertEquals("PERMISSION_DENIED", token.get("app_decrypt").asText());
    assertEquals(1, token.get("revoked").asInt());
    assertEquals("UNAUTHENTICATED", token.get("after_revoke").asText());
    assertEquals("UNAUTHENTICATED", token.get("anonymous").asText());

    JsonNode errors = steps.get("error_details");
    assertEquals("NOT_FOUND", errors.get("code").asText());
    JsonNode details = errors.get("status");
    assertEquals(5, details.get("code").asInt(), "google.rpc.Status from the grpc-status-details-bin trailer");
    assertEquals(errors.get("message").asText(), details.get("message").asText());
    assertTrue(details.get("message").asText().contains(prefix + "-no-such-key"), details.toString());
    assertEquals("google.rpc.ErrorInfo", details.get("details").get(0).get("type").asText());
    assertEquals("KEY_NOT_FOUND", details.get("details").get(0).get("reason").asText());
    assertEquals("keywarden.dev", details.get("details").get(0).get("domain").asText());
    JsonNode taken = errors.get("already_exists");
    assertEquals("ALREADY_EXISTS", taken.get("code").asText());
    assertEquals(6, taken.get("status").get("code").asInt());
    assertEquals("ALREADY_EXISTS", taken.get("status").get("details").get(0).get("reason").asText());

    JsonNode pki = steps.get("pki");
    assertEquals("CN=" + prefix + " Interop Root", pki.get("issuer_subject").asText());
    assertEquals(List.of("example.com"), strings(pki.get("role_domains")));
    assertTrue(pki.get("roles_listed").asBoolean());
    assertTrue(pki.get("issuer_id_matches").asBoolean());
    assertTrue(pki.get("fetched_serial_matches").asBoolean());
    CertificateFactory x509 = CertificateFactory.getInstance("X.509");
    X509Certificate issued = (X509Certificate) x509.generateCertificate(
        new ByteArrayInputStream(pki.get("certificate_pem").asText().getBytes(StandardCharsets.US_ASCII)));
    X509Certificate rootCa = (X509Certificate) x509.generateCertificate(
        new ByteArrayInputStream(pki.get("issuer_certificate_pem").asText().getBytes(StandardCharsets.US_ASCII)));
    issued.verify(rootCa.getPublicKey());
    assertEquals(rootCa.getSubjectX500Principal(), issued.getIssuerX500Principal());
    assertEquals("CN=api.example.com", issued.getSubjectX500Principal().getName());
    try (PEMParser csr = new PEMParser(new java.io.StringReader(csrPem))) {
      assertTrue(java.util.Arrays.equals(((PKCS10CertificationRequest) csr.readObject()).getSubjectPublicKeyInfo()
          .getEncoded(), issued.getPublicKey().getEncoded()), "the certificate holds the CSR's key");
    }

    JsonNode ssh = steps.get("ssh");
    assertTrue(ssh.get("ca_keys_text_has_key").asBoolean());
    assertEquals(List.of("alice"), strings(ssh.get("principals")));
    assertEquals("SSH_CERT_TYPE_USER", ssh.get("cert_type").asText());
    assertEquals("INVALID_ARGUMENT", ssh.get("other_principal").asText(), "a principal the role does not allow");
    Path cert = work.resolve(prefix + "-alice-cert.pub");
    Files.writeString(cert, ssh.get("certificate").asText() + "\n");
    String described = expectSuccess(List.of("ssh-keygen", "-L", "-f", cert.toString()));
    Path caKey = work.resolve(prefix + "-ca.pub");
    Files.writeString(caKey, ssh.get("ca_public_key").asText() + "\n");
    String caFingerprint = expectSuccess(List.of("ssh-keygen", "-l", "-f", caKey.toString())).split(" ")[1];
    assertTrue(described.contains("Type: ssh-ed25519-cert-v01@openssh.com user certificate"), described);
    assertTrue(described.contains("Signing CA: ED25519 " + caFingerprint), described);
    assertTrue(described.matches("(?s).*Principals:\\s+alice\\s+Critical Options:.*"), described);
    assertTrue(described.contains("Key ID: \"" + ssh.get("key_id").asText() + "\""), described);

    JsonNode jwt = steps.get("jwt");
    String kid = jwt.get("active_kid").asText();
    assertEquals(List.of(kid), strings(jwt.get("jwks_kids")));
    assertTrue(jwt.get("server_valid").asBoolean());
    assertEquals(kid, jwt.get("server_kid").asText());
    assertEquals("svc-orders", jwt.get("server_claims").get("sub").asText());
    assertEquals("payments", jwt.get("server_claims").get("aud").asText());
    assertEquals(2, jwt.get("server_claims").get("tier").asInt());
    assertEquals(3, jwt.get("second_item_error").get("status_code").asInt());
    assertTrue(jwt.get("second_item_error").get("message").asText().contains("tier"), jwt.toString());
    SignedJWT signed = SignedJWT.parse(jwt.get("jwt").asText());
    JWKSet jwks = JWKSet.load(new URL(jwt.get("jwks_uri").asText()));
    assertTrue(signed.verify(new ECDSAVerifier(jwks.getKeyByKeyId(kid).toECKey())), "nimbus verifies the token");

    JsonNode auth = steps.get("auth");
    assertTrue(auth.get("cert_roles_listed").asBoolean());
    assertEquals(List.of(pki.get("issuer_id").asText()), strings(auth.get("cert_role_issuers")));
    assertTrue(auth.get("jwt_roles_listed").asBoolean());
    assertEquals("jwks_url", auth.get("jwt_role_key_source").asText());
    assertEquals(List.of(prefix + "-encrypt-only"), strings(auth.get("login_policies")),
        "a login with the JWT Keywarden signed gets the role's policies");
    assertTrue(auth.get("login_encrypts").asBoolean());

    JsonNode audit = steps.get("audit");
    assertEquals("file", audit.get("type").asText());
    assertTrue(audit.get("listed").asBoolean());
    List<JsonNode> records = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(audit.get("target").asText()))) {
      records.add(JSON.readTree(line));
    }
    assertTrue(records.stream().anyMatch(r -> "keywarden.v1.TransitService/Encrypt".equals(r.path("rpc").asText())
        && ("transit/keys/" + prefix + "-orders").equals(r.path("resource").asText())), "the audited Encrypt");
    assertTrue(records.stream().anyMatch(r -> audit.get("hmac").asText()
        .equals(r.path("secrets").path("value").asText())), "HashAuditValue gives the HMAC the log writes");
  }

  private static Path config(String prefix) throws IOException {
    ObjectNode config = JSON.createObjectNode().put("addr", server.addr()).put("token", rootToken)
        .put("http", "http://127.0.0.1:" + server.httpPort).put("prefix", prefix).put("csr_pem", csrPem)
        .put("ssh_public_key", sshPublicKey).put("audit_path", work.resolve(prefix + "-audit.log").toString());
    config.putArray("protos").add(keywardenProtos().toString()).add(protos.toString());
    Path file = work.resolve(prefix + "-config.json");
    Files.writeString(file, JSON.writeValueAsString(config));
    return file;
  }

  /** Runs a client; its JSON lines by step. */
  private static Map<String, JsonNode> runClient(Path dir, List<String> command) throws Exception {
    ToolRun run = run(dir, command);
    Map<String, JsonNode> steps = new HashMap<>();
    for (String line : run.output().split("\n")) {
      if (line.startsWith("{")) {
        JsonNode step = JSON.readTree(line);
        steps.put(step.get("step").asText(), step);
      }
    }
    if (run.exit() != 0 || steps.containsKey("failure")) {
      fail(command.get(0) + " client failed (exit " + run.exit() + "):\n" + run.output());
    }
    for (String step : List.of("status", "health", "reflection", "policy", "transit", "transit_sign", "token",
        "error_details", "pki", "ssh", "jwt", "auth", "audit")) {
      assertTrue(steps.containsKey(step), () -> "no " + step + " step in:\n" + run.output());
    }
    return steps;
  }

  private static Path keywardenProtos() {
    return Path.of("../proto/src/main/proto").toAbsolutePath().normalize();
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** What a tool printed (standard output and error together) and its exit code. */
  record ToolRun(int exit, String output) {}

  private static ToolRun run(Path dir, List<String> command) throws Exception {
    return run(dir, command, Map.of());
  }

  /** Runs {@code command} with {@code env} added; KEYWARDEN_ADDR and KEYWARDEN_TOKEN name the server and root. */
  private static ToolRun run(Path dir, List<String> command, Map<String, String> env) throws Exception {
    Path log = Files.createTempFile(work, "tool", ".log");
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().putAll(env);
    if (server != null) {
      pb.environment().put("KEYWARDEN_ADDR", server.addr());
      pb.environment().put("KEYWARDEN_TOKEN", rootToken == null ? "" : rootToken);
    }
    Process p = pb.start();
    if (!p.waitFor(3, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      fail(command + " did not finish within three minutes");
    }
    return new ToolRun(p.exitValue(), Files.readString(log));
  }

  private static String expectSuccess(List<String> command) throws Exception {
    ToolRun run = run(work, command);
    assertEquals(0, run.exit(), () -> String.join(" ", command) + "\n" + run.output());
    return run.output();
  }

  private static String which(String command) {
    if (command.startsWith("/")) {
      return Files.isExecutable(Path.of(command)) ? command : null;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
        return Path.of(dir, command).toString();
      }
    }
    return null;
  }

  /** Skips without {@code command}, except under CI (CI=true), where make deps has installed it. */
  private static void require(String command, String installHint) {
    if (which(command) == null) {
      missing(command + " is not installed (" + installHint + ")");
    }
  }

  private static void missing(String what) {
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail(what);
    }
    Assumptions.abort(what);
  }
}
