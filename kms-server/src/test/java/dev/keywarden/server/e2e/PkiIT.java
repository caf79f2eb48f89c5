package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PKI engine through the real CLI against a server on a SoftHSM2 token, checked by OpenSSL, across a restart. */
class PkiIT {
  @TempDir
  Path work;

  @Test
  void pkiIssuesCertificatesOpenSslVerifiesAcrossARestart() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    Map<String, String> serverEnv = Map.of("SOFTHSM2_CONF", token.conf().toString());
    String[] flags = {"--data-dir", work.resolve("data").toString(), "--pkcs11-library", token.library().toString(),
        "--pkcs11-token", token.label()};
    Server server = startServer(serverEnv, flags);
    String share;
    String root;
    String rootId;
    String intermediateId;
    Path rootPem = work.resolve("root.pem");
    Path intermediatePem = work.resolve("intermediate.pem");
    Path csr = work.resolve("r.csr");
    try {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString(), "--format", "json").ok().json();
      share = init.get("shares").get(0).asText();
      root = init.get("root_token").asText();
      cli(anon, null, "operator", "unseal", share).ok();
      Map<String, String> env = env(server, root);

      JsonNode rootIssuer = cli(env, null, "pki", "generate-root", "--common-name", "Keywarden Test Root",
          "--key-type", "ec-p256", "--ttl", "87600h", "--format", "json").ok().json().get("issuer");
      rootId = rootIssuer.get("id").asText();
      assertTrue(rootIssuer.get("is_default").asBoolean(), rootIssuer.toString());
      Files.writeString(rootPem, rootIssuer.get("certificate_pem").asText());
      JsonNode inter = cli(env, null, "pki", "generate-intermediate", "--common-name", "Keywarden Test Issuing CA",
          "--issuer", rootId, "--format", "json").ok().json().get("issuer");
      intermediateId = inter.get("id").asText();
      assertEquals(rootId, inter.get("parent_id").asText());
      Files.writeString(intermediatePem, inter.get("certificate_pem").asText());
      cli(env, null, "pki", "generate-root", "--common-name", "x", "--key-type", "dsa-1024")
          .failed("INVALID_ARGUMENT", "unknown key type");

      cli(env, null, "pki", "create-role", "web", "--allowed-domains", "example.com", "--allow-subdomains",
          "--server", "--client", "--ttl", "1h", "--max-ttl", "2h").ok();
      assertEquals("[\"web\"]", cli(env, null, "pki", "roles", "--format", "json").ok().json().get("names").toString());
      JsonNode role = KeywardenProcesses.JSON.readTree(cli(env, null, "pki", "role", "web").ok().out());
      assertTrue(role.get("allow_subdomains").asBoolean(), role.toString());
      assertEquals("example.com", role.get("allowed_domains").get(0).asText());

      // A CSR made by OpenSSL, signed by the intermediate, verified by OpenSSL up to the root.
      openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
          work.resolve("k.pem").toString(), "-out", csr.toString(), "-subj", "/CN=api.example.com", "-addext",
          "subjectAltName=DNS:api.example.com");
      JsonNode signed = cli(env, null, "pki", "sign-csr", "web", "--csr", csr.toString(), "--issuer", intermediateId,
          "--format", "json").ok().json();
      Path leaf = work.resolve("leaf.pem");
      Files.writeString(leaf, signed.get("certificate_pem").asText());
      assertEquals(2, signed.get("chain_pem").size(), signed.toString());
      assertEquals(intermediateId, signed.get("issuer_id").asText());
      Path chain = work.resolve("chain.pem");
      Files.writeString(chain, signed.get("chain_pem").get(0).asText());
      assertTrue(openssl("verify", "-CAfile", rootPem.toString(), "-untrusted", chain.toString(), leaf.toString())
          .contains("OK"));
      assertTrue(openssl("verify", "-CAfile", rootPem.toString(), "-untrusted", intermediatePem.toString(),
          leaf.toString()).contains("OK"));
      String text = cli(env, null, "pki", "sign-csr", "web", "--csr", csr.toString()).ok().out();
      assertTrue(text.startsWith("-----BEGIN CERTIFICATE-----"), text);

      Path evilCsr = work.resolve("evil.csr");
      openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
          work.resolve("evil.key").toString(), "-out", evilCsr.toString(), "-subj", "/CN=evil.com", "-addext",
          "subjectAltName=DNS:evil.com");
      cli(env, null, "pki", "sign-csr", "web", "--csr", evilCsr.toString())
          .failed("INVALID_ARGUMENT", "allowed_domains");

      // Issue: the server makes the key; the certificate's public key is that key's.
      JsonNode issued = cli(env, null, "pki", "issue", "web", "--common-name", "db.example.com", "--format", "json")
          .ok().json();
      Path issuedCert = work.resolve("db.pem");
      Path issuedKey = work.resolve("db.key");
      Files.writeString(issuedCert, issued.get("certificate_pem").asText());
      Files.writeString(issuedKey, issued.get("private_key_pem").asText());
      assertEquals(openssl("pkey", "-in", issuedKey.toString(), "-pubout"),
          openssl("x509", "-in", issuedCert.toString(), "-noout", "-pubkey"));
      String issueText = cli(env, null, "pki", "issue", "web", "--common-name", "www.example.com").ok().out();
      assertTrue(issueText.indexOf("BEGIN CERTIFICATE") < issueText.indexOf("PRIVATE KEY-----"), issueText);
      cli(env, null, "pki", "issue", "web", "--common-name", "db.evil.com").failed("INVALID_ARGUMENT", "allowed_domains");

      // Revocation.
      String serial = issued.get("serial").asText();
      assertTrue(cli(env, null, "pki", "list").ok().out().contains(serial));
      assertTrue(cli(env, null, "pki", "cert", serial).ok().out().contains("valid"));
      cli(env, null, "pki", "revoke", serial, "--reason", "key-compromise").ok();
      JsonNode cert = cli(env, null, "pki", "cert", serial, "--format", "json").ok().json();
      assertTrue(cert.get("revoked").asBoolean(), cert.toString());
      assertEquals(1, cert.get("revocation").get("reason").asInt());
      assertTrue(cli(env, null, "pki", "cert", serial).ok().out().contains("revoked"));
      assertTrue(cli(env, null, "pki", "revoked", "--issuer", issued.get("issuer_id").asText()).ok().out()
          .contains(serial));
      KeywardenProcesses.Result bogus = cli(env, null, "pki", "revoke", serial, "--reason", "bogus");
      assertNotEquals(0, bogus.exit());
      assertTrue(bogus.err().contains("unknown reason"), bogus.err());
      cli(env, null, "pki", "cert", "00ff").failed("NOT_FOUND", "no stored certificate");
      cli(env, null, "pki", "tidy").ok();

      // A token that may only sign under role web.
      Path policy = work.resolve("sign-only.json");
      Files.writeString(policy, "{\"rules\":[{\"resource\":\"pki/roles/web\",\"capabilities\":[\"sign\"]}]}");
      cli(env, null, "policy", "write", "sign-only", policy.toString()).ok();
      String app = cli(env, null, "token", "create", "--policy", "sign-only", "--format", "json").ok().json()
          .get("token").asText();
      Map<String, String> asApp = env(server, app);
      cli(asApp, null, "pki", "sign-csr", "web", "--csr", csr.toString()).ok();
      cli(asApp, null, "pki", "issue", "web", "--common-name", "x.example.com").failed("PERMISSION_DENIED", "'issue'");
      cli(asApp, null, "pki", "generate-root", "--common-name", "rogue").failed("PERMISSION_DENIED", "pki/issuers");

      // Policies name one issuer or one certificate: this token may read the root and revoke one certificate only.
      String other = signed.get("serial").asText();
      String mine = cli(env, null, "pki", "issue", "web", "--common-name", "mine.example.com", "--format", "json").ok()
          .json().get("serial").asText();
      Path scoped = work.resolve("scoped.json");
      Files.writeString(scoped, "{\"rules\":[{\"resource\":\"pki/issuers/" + rootId + "\",\"capabilities\":[\"read\"]},"
          + "{\"resource\":\"pki/certs/" + mine + "\",\"capabilities\":[\"read\",\"revoke\"]}]}");
      cli(env, null, "policy", "write", "scoped", scoped.toString()).ok();
      Map<String, String> asTeam = env(server, cli(env, null, "token", "create", "--policy", "scoped", "--format",
          "json").ok().json().get("token").asText());
      cli(asTeam, null, "pki", "issuer", rootId).ok();
      cli(asTeam, null, "pki", "issuer", intermediateId).failed("PERMISSION_DENIED", "pki/issuers/" + intermediateId);
      // The serial however written (colons, upper case) is the same resource.
      String spelled = mine.toUpperCase(java.util.Locale.ROOT).replaceAll("(..)(?=.)", "$1:");
      cli(asTeam, null, "pki", "revoke", other).failed("PERMISSION_DENIED", "pki/certs/" + other);
      cli(asTeam, null, "pki", "revoke", spelled, "--reason", "superseded").ok();
      assertTrue(cli(asTeam, null, "pki", "cert", mine, "--format", "json").ok().json().get("revoked").asBoolean());
      cli(asTeam, null, "pki", "issuer", "../" + rootId).failed("INVALID_ARGUMENT", "not an issuer id");
    } finally {
      server.close();
    }

    // After a restart and unseal, the issuers are still there and their HSM keys still sign.
    server = startServer(serverEnv, flags);
    try {
      cli(Map.of("KEYWARDEN_ADDR", server.addr()), null, "operator", "unseal", share).ok();
      Map<String, String> env = env(server, root);
      JsonNode issuers = cli(env, null, "pki", "issuers", "--format", "json").ok().json().get("issuers");
      assertEquals(2, issuers.size(), issuers.toString());
      String listed = issuers.toString();
      assertTrue(listed.contains(rootId) && listed.contains(intermediateId), listed);
      JsonNode signed = cli(env, null, "pki", "sign-csr", "web", "--csr", csr.toString(), "--issuer", intermediateId,
          "--format", "json").ok().json();
      Path leaf = work.resolve("leaf2.pem");
      Files.writeString(leaf, signed.get("certificate_pem").asText());
      assertTrue(openssl("verify", "-CAfile", rootPem.toString(), "-untrusted", intermediatePem.toString(),
          leaf.toString()).contains("OK"));
    } finally {
      server.close();
    }
  }

  /** The README's walkthrough: root, intermediate (made the default), role and an mTLS certificate. */
  @Test
  void readmeWalkthroughGivesAnMtlsCertificateWithNoIssuerId() throws Exception {
    try (Running r = Running.start(work)) {
      String base = "http://127.0.0.1:" + r.server.httpPort;
      cli(r.env, null, "pki", "generate-root", "--common-name", "Example Root CA", "--base-url", base).ok();
      cli(r.env, null, "pki", "generate-intermediate", "--common-name", "Example Issuing CA", "--default").ok();
      cli(r.env, null, "pki", "create-role", "web", "--allowed-domains", "example.com", "--allow-subdomains",
          "--server", "--client", "--ttl", "24h", "--max-ttl", "72h").ok();
      openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "api.key",
          "-out", "api.csr", "-subj", "/CN=api.example.com", "-addext", "subjectAltName=DNS:api.example.com");
      Path api = Files.writeString(work.resolve("api.pem"),
          cli(r.env, null, "pki", "sign-csr", "web", "--csr", work.resolve("api.csr").toString()).ok().out());

      Path chain = Files.write(work.resolve("ca-chain.pem"), http(base + "/v1/pki/ca"));
      assertEquals(2, Files.readString(chain).split("BEGIN CERTIFICATE").length - 1, "intermediate and root");
      assertTrue(openssl("verify", "-CAfile", chain.toString(), api.toString()).contains("OK"));
      String text = openssl("x509", "-in", api.toString(), "-noout", "-text");
      assertTrue(text.contains("TLS Web Server Authentication") && text.contains("TLS Web Client Authentication"),
          text);
    }
  }

  @Test
  void anExternalRootSignsTheIntermediateAndRotationRetiresIssuersThroughTheCli() throws Exception {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key",
        "-out", "root.pem", "-subj", "/CN=Corporate Root", "-days", "30");
    Files.writeString(work.resolve("ca.ext"), "basicConstraints=critical,CA:true,pathlen:0\n"
        + "keyUsage=critical,keyCertSign,cRLSign\n");
    Running r = Running.start(work);
    try {
      String base = "http://127.0.0.1:" + r.server.httpPort;
      KeywardenProcesses.Result made = cli(r.env, null, "pki", "generate-intermediate", "--common-name",
          "Keywarden Issuing CA", "--external", "--base-url", base, "--default").ok();
      assertTrue(made.out().startsWith("-----BEGIN CERTIFICATE REQUEST-----"), made.out());
      String first = pendingId(made);
      Files.writeString(work.resolve("first.csr"), made.out());
      cli(r.env, null, "pki", "create-role", "web", "--allowed-domains", "example.com", "--allow-subdomains",
          "--server", "--client", "--ttl", "1h", "--max-ttl", "2h").ok();
      openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "a.key",
          "-out", "a.csr", "-subj", "/CN=a.example.com");
      cli(r.env, null, "pki", "sign-csr", "web", "--csr", at("a.csr"), "--issuer", first)
          .failed("FAILED_PRECONDITION", "SetSignedIntermediate");
      cli(r.env, null, "pki", "set-signed-intermediate", first, "--cert", at("root.pem"))
          .failed("INVALID_ARGUMENT", "public key is not the key of pending issuer '" + first + "'");
      cli(r.env, null, "pki", "set-signed-intermediate", "0123456789abcdef", "--cert", at("root.pem"))
          .failed("NOT_FOUND", "0123456789abcdef");

      signExternally("first");
      JsonNode active = cli(r.env, null, "pki", "set-signed-intermediate", first, "--cert", at("first.pem"),
          "--chain", at("root.pem"), "--format", "json").ok().json().get("issuer");
      assertEquals("ISSUER_STATE_ACTIVE", active.get("state").asText());
      assertTrue(active.get("is_default").asBoolean(), active.toString());
      cli(r.env, null, "pki", "set-signed-intermediate", first, "--cert", at("first.pem"))
          .failed("FAILED_PRECONDITION", "not pending");
      Path leaf = Files.writeString(work.resolve("a.pem"),
          cli(r.env, null, "pki", "sign-csr", "web", "--csr", at("a.csr")).ok().out());
      assertTrue(openssl("verify", "-CAfile", "root.pem", "-untrusted", "first.pem", leaf.toString())
          .contains("OK"));
      assertEquals(2, new String(http(base + "/v1/pki/ca")).split("BEGIN CERTIFICATE").length - 1,
          "the served chain includes the external root");

      cli(r.env, null, "pki", "delete-issuer", first).failed("FAILED_PRECONDITION", "rotate-issuer " + first);

      // A rotation whose successor the external CA never signs: deleting the successor lets the issuer rotate again.
      String abandoned = pendingId(cli(r.env, null, "pki", "rotate-issuer", first).ok());
      JsonNode deleted = cli(r.env, null, "pki", "delete-issuer", abandoned, "--format", "json").ok().json();
      assertEquals(abandoned, deleted.get("id").asText(), deleted.toString());
      assertEquals(first, deleted.get("replaces").asText(), deleted.toString());
      assertTrue(deleted.get("key_destroyed").asBoolean(), deleted.toString());
      cli(r.env, null, "pki", "delete-issuer", abandoned).failed("NOT_FOUND", abandoned);

      KeywardenProcesses.Result rotated = cli(r.env, null, "pki", "rotate-issuer", first).ok();
      String second = pendingId(rotated);
      Files.writeString(work.resolve("second.csr"), rotated.out());
      JsonNode old = cli(r.env, null, "pki", "issuer", first, "--format", "json").ok().json().get("issuer");
      assertEquals("ISSUER_STATE_ACTIVE", old.get("state").asText(), "active until the successor is signed");
      assertEquals(second, old.get("replaced_by").asText());
      signExternally("second");
      cli(r.env, null, "pki", "set-signed-intermediate", second, "--cert", at("second.pem"), "--chain",
          at("root.pem")).ok();
      JsonNode issuers = cli(r.env, null, "pki", "issuers", "--format", "json").ok().json().get("issuers");
      for (JsonNode i : issuers) {
        boolean isFirst = i.get("id").asText().equals(first);
        assertEquals(isFirst ? "ISSUER_STATE_RETIRED" : "ISSUER_STATE_ACTIVE", i.get("state").asText(), i.toString());
        assertEquals(!isFirst, i.get("is_default").asBoolean(), i.toString());
      }
      cli(r.env, null, "pki", "sign-csr", "web", "--csr", at("a.csr"), "--issuer", first)
          .failed("FAILED_PRECONDITION", second);
      cli(r.env, null, "pki", "delete-issuer", first).failed("FAILED_PRECONDITION", "pki tidy");
      JsonNode next = cli(r.env, null, "pki", "sign-csr", "web", "--csr", at("a.csr"), "--format", "json").ok()
          .json();
      assertEquals(second, next.get("issuer_id").asText());

      // The retired issuer still publishes a CRL, and OpenSSL verifies it against the external chain.
      Path crl = Files.write(work.resolve("first.crl.pem"), http(base + "/v1/pki/issuer/" + first + "/crl.pem"));
      Files.writeString(work.resolve("first-chain.pem"), Files.readString(work.resolve("first.pem"))
          + Files.readString(work.resolve("root.pem")));
      openssl("crl", "-in", crl.toString(), "-CAfile", "first-chain.pem", "-noout"); // exits 0 only if it verifies

      // Across a restart: the states, the default and the external chain are kept, and both issuers still sign.
      r = r.restart();
      base = "http://127.0.0.1:" + r.server.httpPort;
      JsonNode reread = cli(r.env, null, "pki", "issuers", "--format", "json").ok().json().get("issuers");
      assertEquals(withoutIssuedUntil(issuers), withoutIssuedUntil(reread), "issuers after the restart");
      Path afterRestart = Files.writeString(work.resolve("b.pem"),
          cli(r.env, null, "pki", "sign-csr", "web", "--csr", at("a.csr")).ok().out());
      assertTrue(openssl("verify", "-CAfile", "root.pem", "-untrusted", "second.pem", afterRestart.toString())
          .contains("OK"));
      assertEquals(2, new String(http(base + "/v1/pki/ca")).split("BEGIN CERTIFICATE").length - 1,
          "the served chain still includes the external root");
      Path crlAgain = Files.write(work.resolve("first-again.crl.pem"),
          http(base + "/v1/pki/issuer/" + first + "/crl.pem"));
      openssl("crl", "-in", crlAgain.toString(), "-CAfile", "first-chain.pem", "-noout");

      Files.writeString(work.resolve("update-only.json"),
          "{\"rules\":[{\"resource\":\"pki/issuers\",\"capabilities\":[\"update\"]}]}");
      cli(r.env, null, "policy", "write", "update-only", at("update-only.json")).ok();
      String limited = cli(r.env, null, "token", "create", "--policy", "update-only", "--format", "json").ok().json()
          .get("token").asText();
      cli(env(r.server, limited), null, "pki", "rotate-issuer", second).failed("PERMISSION_DENIED", "'create'");
      cli(env(r.server, limited), null, "pki", "delete-issuer", second).failed("PERMISSION_DENIED", "'delete'");
    } finally {
      r.close();
    }
  }

  /** The issuer list without issued_until, which the issuance between two listings may move. */
  private static JsonNode withoutIssuedUntil(JsonNode issuers) {
    JsonNode copy = issuers.deepCopy();
    copy.forEach(i -> ((com.fasterxml.jackson.databind.node.ObjectNode) i).remove("issued_until"));
    return copy;
  }

  private String at(String name) {
    return work.resolve(name).toString();
  }

  /** OpenSSL, as the corporate root, signs NAME.csr into NAME.pem as a CA. */
  private void signExternally(String name) throws Exception {
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "root.pem", "-CAkey", "root.key", "-extfile", "ca.ext",
        "-days", "10", "-out", name + ".pem");
  }

  private static String pendingId(KeywardenProcesses.Result r) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("Issuer ([0-9a-f]+) is pending").matcher(r.err());
    assertTrue(m.find(), r.err());
    return m.group(1);
  }

  private static byte[] http(String url) throws Exception {
    java.net.http.HttpResponse<byte[]> response = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, response.statusCode(), url + ": " + new String(response.body()));
    return response.body();
  }

  /** A server on a fresh SoftHSM2 token, initialized and unsealed, with the root token in {@link #env}. */
  private record Running(Server server, Map<String, String> env, SoftHsmToken token, Path work, String share)
      implements AutoCloseable {
    static Running start(Path work) throws Exception {
      SoftHsmToken token = SoftHsmToken.create();
      Path pin = Files.writeString(work.resolve("pin"), new String(token.pin()));
      Server server = launch(token, work);
      try {
        Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
        JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
            pin.toString(), "--format", "json").ok().json();
        String share = init.get("shares").get(0).asText();
        cli(anon, null, "operator", "unseal", share).ok();
        return new Running(server, PkiIT.env(server, init.get("root_token").asText()), token, work, share);
      } catch (Exception | AssertionError e) {
        server.close();
        throw e;
      }
    }

    private static Server launch(SoftHsmToken token, Path work) throws Exception {
      return startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()), "--data-dir",
          work.resolve("data").toString(), "--pkcs11-library", token.library().toString(), "--pkcs11-token",
          token.label());
    }

    /** Stops this server, starts a new process on the same data and token, and unseals it. */
    Running restart() throws Exception {
      server.close();
      Server next = launch(token, work);
      try {
        cli(Map.of("KEYWARDEN_ADDR", next.addr()), null, "operator", "unseal", share).ok();
        Map<String, String> env = PkiIT.env(next, this.env.get("KEYWARDEN_TOKEN"));
        return new Running(next, env, token, work, share);
      } catch (Exception | AssertionError e) {
        next.close();
        throw e;
      }
    }

    @Override
    public void close() throws Exception {
      server.close();
    }
  }

  private String openssl(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(false).start();
    String out = new String(p.getInputStream().readAllBytes());
    String err = new String(p.getErrorStream().readAllBytes());
    assertEquals(0, p.waitFor(), "openssl " + String.join(" ", args) + ": " + out + err);
    return out;
  }

  private static Map<String, String> env(Server server, String token) {
    Map<String, String> env = new HashMap<>();
    env.put("KEYWARDEN_ADDR", server.addr());
    env.put("KEYWARDEN_TOKEN", token);
    return env;
  }
}
