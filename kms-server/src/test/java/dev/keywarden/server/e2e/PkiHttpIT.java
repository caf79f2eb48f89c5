package dev.keywarden.server.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.hsm.KeyType;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.pki.IssuedWithKey;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.pki.RequestedNames;
import dev.keywarden.pki.Role;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.wiring.EngineSchedules;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PKI's public HTTP endpoints as relying parties use them, with OpenSSL as the client: the CA chain, the CRL it
 * checks a revoked certificate against, and the OCSP responder (POST by OpenSSL, GET by path), keys in SoftHSM2.
 */
class PkiHttpIT {
  @TempDir
  Path dir;

  @Test
  void opensslChecksCertificatesAgainstTheCrlAndTheOcspResponder() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    int http = KeywardenProcesses.freePort();
    String base = "http://127.0.0.1:" + http;
    ServerSettings settings = new ServerSettings(dir.resolve("data"),
        new HostPort("127.0.0.1", KeywardenProcesses.freePort()), new HostPort("127.0.0.1", http),
        token.library(), token.label(), 4, null, null).validate();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      HttpClient client = HttpClient.newHttpClient();
      assertEquals(503, get(client, base + "/v1/pki/crl").statusCode(), "sealed (not initialized)");

      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, token.pin(), false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      PkiEngine pki = server.bean(PkiEngine.class);
      assertEquals(404, get(client, base + "/v1/pki/ca").statusCode(), "no issuer yet");
      pki.generateRoot("Keywarden Test Root", KeyType.EC_P256, Duration.ofDays(2), Optional.of(base));
      pki.writeRole(Role.fromJson("{\"name\":\"web\",\"allowed_domains\":[\"example.com\"],"
          + "\"allow_subdomains\":true,\"server_flag\":true,\"client_flag\":true,\"ttl\":\"1h\",\"max_ttl\":\"2h\"}"));
      IssuedWithKey leaf = pki.issue("web", new RequestedNames(Optional.of("api.example.com"),
          List.of("api.example.com"), List.of(), List.of()), Optional.empty(), Optional.empty());

      HttpResponse<byte[]> ca = get(client, base + "/v1/pki/ca");
      assertEquals(200, ca.statusCode());
      assertEquals("application/x-pem-file", ca.headers().firstValue("content-type").orElse(""));
      Path root = Files.write(dir.resolve("root.pem"), ca.body());
      Path leafPem = Files.writeString(dir.resolve("leaf.pem"), pem(leaf.certificate().certificateDer()));
      String issuerId = pki.issuers().get(0).id();
      assertArrayEquals(pki.issuers().get(0).certificateDer(),
          get(client, base + "/v1/pki/issuer/" + issuerId + "/der").body(), "the AIA caIssuers URL serves the CA");
      assertTrue(openssl("x509", "-in", leafPem.toString(), "-noout", "-text")
          .contains(base + "/v1/pki/issuer/" + issuerId + "/crl"), "the leaf points at our CRL");

      String ocspUrl = base + "/v1/pki/ocsp";
      assertTrue(openssl("ocsp", "-issuer", root.toString(), "-cert", leafPem.toString(), "-url", ocspUrl,
          "-CAfile", root.toString(), "-no_nonce").contains(leafPem + ": good"));
      assertTrue(openssl("verify", "-crl_check", "-CAfile", bundle(client, base, root).toString(),
          leafPem.toString()).contains("OK"));

      pki.revoke(leaf.certificate().serialHex(), 1);
      String revoked = openssl("ocsp", "-issuer", root.toString(), "-cert", leafPem.toString(), "-url", ocspUrl,
          "-CAfile", root.toString(), "-no_nonce");
      assertTrue(revoked.contains(leafPem + ": revoked"), revoked);
      Process verify = new ProcessBuilder("openssl", "verify", "-crl_check", "-CAfile",
          bundle(client, base, root).toString(), leafPem.toString()).redirectErrorStream(true).start();
      String out = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(verify.waitFor(30, TimeUnit.SECONDS));
      assertNotEquals(0, verify.exitValue(), out);
      assertTrue(out.contains("certificate revoked"), out);

      // RFC 6960 GET: the DER request, base64 and URL-encoded, in the path. Requests with random nonces, so their
      // base64 holds '+' and '/' (escaped as %2B and %2F); OcspPathDecodingTest covers every byte pattern.
      Path req = dir.resolve("req.der");
      for (int i = 0; i < 24; i++) {
        openssl("ocsp", "-issuer", root.toString(), "-cert", leafPem.toString(), "-reqout", req.toString());
        String b64 = Base64.getEncoder().encodeToString(Files.readAllBytes(req));
        HttpResponse<byte[]> byGet = get(client, ocspUrl + "/" + URLEncoder.encode(b64, StandardCharsets.US_ASCII));
        assertEquals(200, byGet.statusCode(), "GET " + b64);
        assertEquals(OCSPResp.SUCCESSFUL, new OCSPResp(byGet.body()).getStatus());
      }

      // Rotation: the new root is served as the CA; the retired one keeps answering for what it issued.
      assertNotNull(server.bean(EngineSchedules.class), "the CRL schedule runs in the server");
      IssuerInfo next = pki.rotateIssuer(issuerId, Optional.empty());
      assertArrayEquals(pem(next.certificateDer()).getBytes(StandardCharsets.US_ASCII),
          get(client, base + "/v1/pki/ca").body(), "the successor is the default");
      String stillRevoked = openssl("ocsp", "-issuer", root.toString(), "-cert", leafPem.toString(), "-url", ocspUrl,
          "-CAfile", root.toString(), "-no_nonce");
      assertTrue(stillRevoked.contains(leafPem + ": revoked"), stillRevoked);
      HttpResponse<byte[]> oldCrl = get(client, base + "/v1/pki/issuer/" + issuerId + "/crl.pem");
      assertEquals(200, oldCrl.statusCode());
      Path oldBundle = Files.write(dir.resolve("old-root-and-crl.pem"), Files.readAllBytes(root));
      Files.write(oldBundle, oldCrl.body(), java.nio.file.StandardOpenOption.APPEND);
      Process oldVerify = new ProcessBuilder("openssl", "verify", "-crl_check", "-CAfile", oldBundle.toString(),
          leafPem.toString()).redirectErrorStream(true).start();
      String oldOut = new String(oldVerify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(oldVerify.waitFor(30, TimeUnit.SECONDS));
      assertTrue(oldOut.contains("certificate revoked"), "the retired root's CRL still lists it: " + oldOut);

      // A pending issuer has no certificate or CRL yet: 404, not the 503 of a server that cannot answer now.
      IssuerInfo pending = pki.generateExternalIntermediate("Pending CA", KeyType.EC_P256, Optional.empty(), false);
      for (String part : List.of("der", "pem", "crl", "crl.pem", "crl/chain.pem")) {
        HttpResponse<byte[]> notYet = get(client, base + "/v1/pki/issuer/" + pending.id() + "/" + part);
        assertEquals(404, notYet.statusCode(), part);
        assertTrue(new String(notYet.body(), StandardCharsets.UTF_8).contains("SetSignedIntermediate"), part);
      }
      assertEquals(404, get(client, base + "/v1/pki/issuer/0123456789abcdef/der").statusCode(), "unknown id");

      core.seal();
      assertEquals(503, get(client, base + "/v1/pki/crl").statusCode());
      assertEquals(503, get(client, base + "/v1/pki/crl/chain.pem").statusCode());
      assertEquals(503, get(client, base + "/v1/pki/issuer/" + pending.id() + "/der").statusCode(),
          "sealed, even for a pending issuer");
      assertEquals(503, get(client, base + "/v1/pki/issuer/" + next.id() + "/crl").statusCode());
    }
  }

  private Path bundle(HttpClient client, String base, Path root) throws Exception {
    HttpResponse<byte[]> crl = get(client, base + "/v1/pki/crl.pem");
    assertEquals(200, crl.statusCode());
    Path bundle = dir.resolve("root-and-crl.pem");
    Files.write(bundle, Files.readAllBytes(root));
    Files.write(bundle, crl.body(), java.nio.file.StandardOpenOption.APPEND);
    return bundle;
  }

  private static HttpResponse<byte[]> get(HttpClient client, String url) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String pem(byte[] der) {
    return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END CERTIFICATE-----\n";
  }

  private static String openssl(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), String.join(" ", cmd) + "\n" + out);
    return out;
  }
}
