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
