package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KmsClient;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.KmsEnvelopeAead;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import dev.keywarden.client.ItemResult;
import dev.keywarden.client.KeywardenClient;
import dev.keywarden.client.KeywardenClientException;
import dev.keywarden.client.SignedCertificate;
import dev.keywarden.client.tink.KeywardenKmsClient;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java client and its Tink KmsClient against a real TLS server process on a SoftHSM2 token: Tink's
 * KmsEnvelopeAead with Keywarden as its KMS across a key rotation, associated data bound by the server, per-item
 * batch errors, PERMISSION_DENIED for a token without decrypt, SignCsr under a role, and a client certificate
 * authenticating calls without a token.
 *
 * <p>Runs in failsafe's own "client-it" execution, whose JVM has the client's protobuf runtime (see kms-server's
 * pom); anywhere else (e.g. the default execution under -Dit.test) it skips itself rather than fail on Tink's
 * protobuf version check.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeywardenClientIT {
  @TempDir
  static Path work;

  private Server server;
  private Map<String, String> admin;
  private Path serverCert;
  private KeywardenClient root;

  @BeforeAll
  void startUnsealedTlsServer() throws Exception {
    Assumptions.assumeTrue(Boolean.getBoolean("keywarden.client.it"),
        "runs in failsafe's client-it execution (the client's protobuf runtime): with no -Dit.test, or with"
            + " -Dit.test=KeywardenClientIT");
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    serverCert = work.resolve("server.pem");
    Path serverKey = work.resolve("server-key.pem");
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        serverKey.toString(), "-out", serverCert.toString(), "-days", "1", "-subj", "/CN=localhost", "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost");
    server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()),
        "--data-dir", work.resolve("data").toString(), "--pkcs11-library", token.library().toString(),
        "--pkcs11-token", token.label(), "--tls-cert", serverCert.toString(), "--tls-key", serverKey.toString());
    Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_CACERT", serverCert.toString());
    JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
        pin.toString(), "--format", "json").ok().json();
    cli(anon, null, "operator", "unseal", init.get("shares").get(0).asText()).ok();
    admin = new HashMap<>(anon);
    admin.put("KEYWARDEN_TOKEN", init.get("root_token").asText());
    root = KeywardenClient.builder().address(server.addr()).tls(serverCert).token(init.get("root_token").asText())
        .build();
    AeadConfig.register();
  }

  @AfterAll
  void stop() throws Exception {
    if (root != null) {
      root.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void tinksEnvelopeAeadUsesKeywardenAsItsKmsAcrossARotation() throws Exception {
    root.transit().createKey("envelope");
    String keyUri = "keywarden://" + server.addr() + "/transit/keys/envelope";
    KmsClient kms = new KeywardenKmsClient(root).withKeyUri(keyUri);
    Aead envelope = KmsEnvelopeAead.create(PredefinedAeadParameters.AES256_GCM, kms.getAead(keyUri));
    byte[] plaintext = "invoice 42: 1,250.00 EUR".getBytes(UTF_8);
    byte[] ad = "tenant a".getBytes(UTF_8);

    byte[] before = envelope.encrypt(plaintext, ad);
    assertTrue(wrappedDataKey(before).startsWith("kw:v1:"), wrappedDataKey(before));
    assertEquals(2, root.transit().rotateKey("envelope").getLatestVersion());
    assertArrayEquals(plaintext, envelope.decrypt(before, ad), "the old envelope decrypts after the rotation");
    byte[] after = envelope.encrypt(plaintext, ad);
    assertTrue(wrappedDataKey(after).startsWith("kw:v2:"), "the new envelope names the new version: "
        + wrappedDataKey(after));
    assertArrayEquals(plaintext, envelope.decrypt(after, ad));

    assertThrows(GeneralSecurityException.class, () -> envelope.decrypt(before, "tenant b".getBytes(UTF_8)));
    byte[] tampered = before.clone();
    int inKey = 4 + 20; // a base64 character of the wrapped data key: still base64, other bytes
    tampered[inKey] = (byte) (tampered[inKey] == 'A' ? 'B' : 'A');
    assertThrows(GeneralSecurityException.class, () -> envelope.decrypt(tampered, ad));
  }

  @Test
  void theAeadsAssociatedDataIsTheTransitContextTheServerChecks() throws Exception {
    root.transit().createKey("bound");
    Aead aead = new KeywardenKmsClient(root).getAead("keywarden://" + server.addr() + "/transit/keys/bound");
    byte[] ct = aead.encrypt("data key".getBytes(UTF_8), "row 7".getBytes(UTF_8));
    String text = new String(ct, UTF_8);
    assertTrue(text.startsWith("kw:v1:"), text);
    // The same context through the plain client decrypts it: the associated data is exactly the context.
    assertArrayEquals("data key".getBytes(UTF_8), root.transit().decrypt("bound", text, "row 7".getBytes(UTF_8)));
    GeneralSecurityException other = assertThrows(GeneralSecurityException.class,
        () -> aead.decrypt(ct, "row 8".getBytes(UTF_8)));
    assertEquals(Status.Code.INVALID_ARGUMENT,
        assertInstanceOf(KeywardenClientException.class, other.getCause()).code());
    assertThrows(GeneralSecurityException.class, () -> aead.decrypt(ct, null));
  }

  @Test
  void aTokenWithoutDecryptGetsPermissionDenied() throws Exception {
    root.transit().createKey("orders");
    cli(admin, "{\"rules\":[{\"resource\":\"transit/keys/orders\",\"capabilities\":[\"encrypt\"]}]}",
        "policy", "write", "orders-encrypt", "-").ok();
    String appToken = cli(admin, null, "token", "create", "--policy", "orders-encrypt", "--format", "json").ok()
        .json().get("token").asText();
    try (KeywardenClient app = KeywardenClient.builder().address(server.addr()).tls(serverCert).token(appToken)
        .build()) {
      String ct = app.transit().encrypt("orders", "card 4111".getBytes(UTF_8), null);
      KeywardenClientException denied = assertThrows(KeywardenClientException.class,
          () -> app.transit().decrypt("orders", ct, null));
      assertEquals(Status.Code.PERMISSION_DENIED, denied.code());
      assertTrue(denied.description().contains("orders-encrypt"), denied.description());
      assertEquals("PERMISSION_DENIED", denied.reason(), "the ErrorInfo reason the server sends");
      assertFalse(denied.getMessage().contains(appToken));

      Aead aead = new KeywardenKmsClient(app).getAead("keywarden://" + server.addr() + "/transit/keys/orders");
      GeneralSecurityException viaTink = assertThrows(GeneralSecurityException.class,
          () -> aead.decrypt(ct.getBytes(UTF_8), null));
      assertEquals(Status.Code.PERMISSION_DENIED,
          assertInstanceOf(KeywardenClientException.class, viaTink.getCause()).code());
      assertArrayEquals("card 4111".getBytes(UTF_8), root.transit().decrypt("orders", ct, null));
    }
  }

  @Test
  void batchesAnswerEachItemOnItsOwn() {
    root.transit().createKey("batch");
    byte[] context = "batch 1".getBytes(UTF_8);
    List<ItemResult<String>> sealed = root.transit().encrypt("batch",
        List.of("a".getBytes(UTF_8), new byte[(1 << 20) + 1], "c".getBytes(UTF_8)), context);
    assertTrue(sealed.get(0).isSuccess() && sealed.get(2).isSuccess());
    assertEquals(Status.Code.INVALID_ARGUMENT, sealed.get(1).code(), "an item over 1 MiB fails alone");
    List<ItemResult<byte[]>> opened = root.transit().decrypt("batch",
        List.of(sealed.get(2).value(), "kw:v1:bm90IGEgY2lwaGVydGV4dA==", sealed.get(0).value()), context);
    assertArrayEquals("c".getBytes(UTF_8), opened.get(0).value());
    assertEquals(Status.Code.INVALID_ARGUMENT, opened.get(1).code());
    assertArrayEquals("a".getBytes(UTF_8), opened.get(2).value());

    // A key that does not exist fails the call, batch or not, with the reason a client branches on.
    KeywardenClientException missing = assertThrows(KeywardenClientException.class,
        () -> root.transit().encrypt("no-such-key", List.of(new byte[1], new byte[2])));
    assertEquals(Status.Code.NOT_FOUND, missing.code());
    assertEquals("KEY_NOT_FOUND", missing.reason());
    assertEquals(Status.Code.NOT_FOUND, assertThrows(KeywardenClientException.class,
        () -> root.transit().encrypt("no-such-key", new byte[1], null)).code());
    // What concerns the call fails the call.
    assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(KeywardenClientException.class,
        () -> root.transit().encrypt("batch", List.of())).code());
  }

  @Test
  void signCsrIssuesUnderARoleAndAClientCertificateAuthenticatesWithoutAToken() throws Exception {
    String rootId = cli(admin, null, "pki", "generate-root", "--common-name", "Client IT Root", "--format", "json")
        .ok().json().get("issuer").get("id").asText();
    cli(admin, null, "pki", "create-role", "web", "--allowed-domains", "example.com", "--allow-subdomains",
        "--server", "--client", "--ttl", "24h", "--max-ttl", "72h").ok();

    Path key = work.resolve("svc-key.pem");
    Path csr = work.resolve("svc.csr");
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        key.toString(), "-out", csr.toString(), "-subj", "/CN=svc.example.com", "-addext",
        "subjectAltName=DNS:svc.example.com");
    SignedCertificate signed = root.pki().signCsr("web", Files.readString(csr), Duration.ofHours(1));
    X509Certificate leaf = certificate(signed.certificatePem());
    X509Certificate ca = certificate(signed.chainPem().get(signed.chainPem().size() - 1));
    leaf.verify(ca.getPublicKey());
    assertEquals(rootId, signed.issuerId());
    assertTrue(leaf.getSubjectX500Principal().getName().contains("CN=svc.example.com"));
    assertEquals(leaf.getSerialNumber().toString(16), signed.serial().replaceFirst("^0+(?=.)", ""));
    assertTrue(signed.notAfter().isBefore(Instant.now().plus(Duration.ofMinutes(70))), "the asked ttl, not 24h");
    assertEquals(leaf.getNotAfter().toInstant(), signed.notAfter());
    assertTrue(signed.fullChainPem().startsWith(signed.certificatePem().strip()));

    Path otherCsr = work.resolve("evil.csr");
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        work.resolve("evil-key.pem").toString(), "-out", otherCsr.toString(), "-subj", "/CN=evil.example.org");
    KeywardenClientException refused = assertThrows(KeywardenClientException.class,
        () -> root.pki().signCsr("web", Files.readString(otherCsr), null));
    assertEquals(Status.Code.INVALID_ARGUMENT, refused.code());
    assertTrue(refused.description().contains("evil.example.org"), refused.description());

    // The certificate just signed, presented over mTLS, is the only credential of the calls.
    Path cert = work.resolve("svc.pem");
    Files.writeString(cert, signed.fullChainPem());
    root.transit().createKey("svc");
    cli(admin, "{\"rules\":[{\"resource\":\"transit/keys/svc\",\"capabilities\":[\"encrypt\",\"decrypt\"]}]}",
        "policy", "write", "svc-crypto", "-").ok();
    cli(admin, null, "cert-role", "write", "svc", "--issuer", rootId, "--allowed-common-name", "svc.example.com",
        "--policy", "svc-crypto").ok();
    try (KeywardenClient service = KeywardenClient.builder().address(server.addr()).tls(serverCert)
        .clientCertificate(cert, key).build()) {
      String ct = service.transit().encrypt("svc", "payload".getBytes(UTF_8), null);
      assertArrayEquals("payload".getBytes(UTF_8), service.transit().decrypt("svc", ct, null));
      assertEquals(Status.Code.PERMISSION_DENIED, assertThrows(KeywardenClientException.class,
          () -> service.transit().encrypt("orders", new byte[1], null)).code());
    }
    try (KeywardenClient nobody = KeywardenClient.builder().address(server.addr()).tls(serverCert).build()) {
      assertEquals(Status.Code.UNAUTHENTICATED, assertThrows(KeywardenClientException.class,
          () -> nobody.transit().encrypt("svc", new byte[1], null)).code());
    }
  }

  /** The wrapped data key of a KmsEnvelopeAead ciphertext: its 4-byte length, then Keywarden's ciphertext text. */
  private static String wrappedDataKey(byte[] envelope) {
    ByteBuffer b = ByteBuffer.wrap(envelope);
    byte[] wrapped = new byte[b.getInt()];
    b.get(wrapped);
    return new String(wrapped, UTF_8);
  }

  private static X509Certificate certificate(String pem) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pem.getBytes(UTF_8)));
  }

  private static void openssl(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), UTF_8);
    assertEquals(0, p.waitFor(), out);
  }
}
