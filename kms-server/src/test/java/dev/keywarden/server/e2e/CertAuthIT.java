package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cert auth end to end: a TLS server process on a SoftHSM2 token, its own PKI issuing a client certificate, the real
 * CLI calling with that certificate and no token, `keywarden login cert`, and `pki revoke` ending it.
 */
class CertAuthIT {
  @TempDir
  Path work;

  @Test
  void aClientCertificateFromKeywardensPkiAuthenticatesTheCliAndLogsInUntilRevoked() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    Path serverCert = work.resolve("server.pem");
    Path serverKey = work.resolve("server-key.pem");
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", serverKey.toString(), "-out", serverCert.toString(), "-days",
        "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
        .redirectErrorStream(true).start();
    String opensslOut = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, openssl.waitFor(), opensslOut);

    try (Server server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()),
        "--data-dir", work.resolve("data").toString(), "--pkcs11-library", token.library().toString(),
        "--pkcs11-token", token.label(), "--tls-cert", serverCert.toString(), "--tls-key", serverKey.toString())) {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_CACERT", serverCert.toString());
      JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString(), "--format", "json").ok().json();
      cli(anon, null, "operator", "unseal", init.get("shares").get(0).asText()).ok();
      Map<String, String> admin = new HashMap<>(anon);
      admin.put("KEYWARDEN_TOKEN", init.get("root_token").asText());

      String rootId = cli(admin, null, "pki", "generate-root", "--common-name", "Services Root", "--format", "json")
          .ok().json().get("issuer").get("id").asText();
      cli(admin, null, "pki", "create-role", "services", "--allowed-domains", "svc.internal", "--allow-subdomains",
          "--client", "--ttl", "1h").ok();
      JsonNode issued = cli(admin, null, "pki", "issue", "services", "--common-name", "billing.svc.internal",
          "--format", "json").ok().json();
      Path clientCert = work.resolve("billing.pem");
      Path clientKey = work.resolve("billing-key.pem");
      Files.writeString(clientCert, issued.get("certificate_pem").asText());
      Files.writeString(clientKey, issued.get("private_key_pem").asText());
      String serial = issued.get("serial").asText();

      cli(admin, "{\"rules\":[{\"resource\":\"transit/keys/billing\",\"capabilities\":[\"encrypt\",\"decrypt\"]}]}",
          "policy", "write", "billing-crypto", "-").ok();
      cli(admin, null, "transit", "create-key", "billing").ok();
      String role = cli(admin, null, "cert-role", "write", "billing", "--issuer", rootId,
          "--allowed-common-name", "billing.svc.internal", "--policy", "billing-crypto", "--token-ttl", "20m").ok()
          .out();
      assertTrue(role.contains("billing-crypto"), role);

      // Per call: the certificate, no token.
      Map<String, String> service = new HashMap<>(anon);
      service.put("KEYWARDEN_CLIENT_CERT", clientCert.toString());
      service.put("KEYWARDEN_CLIENT_KEY", clientKey.toString());
      String ct = cli(service, "invoice 42", "transit", "encrypt", "billing").ok().out().trim();
      assertEquals("invoice 42", cli(service, null, "transit", "decrypt", "billing", ct).ok().out());
      cli(service, null, "transit", "create-key", "other").failed("PERMISSION_DENIED", "[billing-crypto]");
      cli(anon, null, "transit", "encrypt", "billing").failed("UNAUTHENTICATED", "--client-cert");

      // Login: a token with the role's policies and the certificate's facts.
      JsonNode login = cli(service, null, "login", "cert", "--role", "billing", "--format", "json").ok().json();
      assertEquals("billing", login.get("info").get("metadata").get("role").asText());
      assertEquals(serial, login.get("info").get("metadata").get("serial").asText());
      Map<String, String> withLoginToken = new HashMap<>(anon);
      withLoginToken.put("KEYWARDEN_TOKEN", login.get("token").asText());
      assertEquals("invoice 42", cli(withLoginToken, null, "transit", "decrypt", "billing", ct).ok().out());
      cli(service, null, "login", "cert", "--role", "nope").failed("UNAUTHENTICATED", "there is no such role");

      // Revoked: refused on its next call.
      cli(admin, null, "pki", "revoke", serial).ok();
      cli(service, "x", "transit", "encrypt", "billing").failed("UNAUTHENTICATED", "was revoked");
      cli(service, null, "login", "cert", "--role", "billing").failed("UNAUTHENTICATED", "was revoked");
    }
  }
}
