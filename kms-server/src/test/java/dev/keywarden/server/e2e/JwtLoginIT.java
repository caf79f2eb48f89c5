package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.auth.jwt.NodeIssuer;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JWT login end to end: a server on SoftHSM2, the real CLI, and workload JWTs that node's jose signs behind a
 * loopback JWKS server; the login token encrypts with the role's policy and nothing more, and an issuer key rotation
 * still logs in.
 */
class JwtLoginIT {
  @TempDir
  Path work;

  static Map<String, Object> claims(String base) {
    long now = Instant.now().getEpochSecond();
    Map<String, Object> c = new HashMap<>();
    c.put("iss", base);
    c.put("sub", "system:serviceaccount:payments:api");
    c.put("aud", "keywarden");
    c.put("iat", now);
    c.put("exp", now + 600);
    c.put("kubernetes.io", Map.of("namespace", "payments"));
    return c;
  }

  @Test
  void aWorkloadLogsInWithAJwtAndGetsOnlyItsRolesPolicies() throws Exception {
    try (NodeIssuer issuer = NodeIssuer.start()) {
      SoftHsmToken token = SoftHsmToken.create();
      Path pin = work.resolve("pin");
      Files.writeString(pin, new String(token.pin()));
      try (Server server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()), "--data-dir",
          work.resolve("data").toString(), "--pkcs11-library", token.library().toString(), "--pkcs11-token",
          token.label())) {
        Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
        JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
            pin.toString(), "--format", "json").ok().json();
        cli(anon, null, "operator", "unseal", init.get("shares").get(0).asText()).ok();
        Map<String, String> root = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN",
            init.get("root_token").asText());

        cli(root, "{\"rules\":[{\"resource\":\"transit/keys/orders\",\"capabilities\":[\"encrypt\"]}]}",
            "policy", "write", "orders-encrypt", "-").ok();
        cli(root, null, "transit", "create-key", "orders").ok();
        cli(root, null, "auth", "jwt", "write-role", "payments", "--issuer", issuer.base, "--jwks-url",
            issuer.jwksUrl(), "--audience", "keywarden", "--subject", "system:serviceaccount:payments:*",
            "--claim", "/kubernetes.io/namespace=payments", "--policy", "orders-encrypt", "--ttl", "30m").ok();
        KeywardenProcesses.Result hmac = cli(root, null, "auth", "jwt", "write-role", "hmac", "--issuer", issuer.base,
            "--jwks-url", issuer.jwksUrl(), "--audience", "keywarden", "--policy", "orders-encrypt", "--algorithm",
            "HS256");
        assertTrue(hmac.exit() != 0 && hmac.err().contains("never accepted"), hmac.err());
        assertTrue(cli(root, null, "auth", "jwt", "read-role", "payments").ok().out()
            .contains("/kubernetes.io/namespace=payments"));
        assertEquals("payments", cli(root, null, "auth", "jwt", "list-roles").ok().out().trim());

        // Login from a file (as a projected service-account token is) and from standard input.
        String jwt = issuer.mint("ES256", claims(issuer.base));
        Path jwtFile = work.resolve("token.jwt");
        Files.writeString(jwtFile, jwt + "\n");
        JsonNode login = cli(anon, null, "login", "jwt", "--role", "payments", "--jwt-file", jwtFile.toString(),
            "--format", "json").ok().json();
        String workloadToken = login.get("token").asText();
        assertEquals("system:serviceaccount:payments:api",
            login.get("info").get("metadata").get("jwt_subject").asText());
        assertEquals(List.of("orders-encrypt"), List.of(login.get("info").get("policies").get(0).asText()));
        String text = cli(anon, issuer.mint("RS256", claims(issuer.base)), "login", "jwt", "--role", "payments",
            "--jwt-file", "-").ok().out();
        assertTrue(text.contains("Token:    kwt_") && text.contains("orders-encrypt"), text);

        // The token encrypts with the role's policy, and can do nothing else.
        Map<String, String> workload = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", workloadToken);
        String ct = cli(workload, "card 4111", "transit", "encrypt", "orders").ok().out().trim();
        assertTrue(ct.startsWith("kw:v1:"), ct);
        cli(workload, null, "transit", "decrypt", "orders", ct).failed("PERMISSION_DENIED", "orders-encrypt");
        cli(workload, null, "auth", "jwt", "list-roles").failed("PERMISSION_DENIED", "auth/jwt/roles");

        // The issuer rotates its EdDSA key: a JWT under the new kid still logs in.
        issuer.rotate("EdDSA");
        cli(anon, issuer.mint("EdDSA", claims(issuer.base)), "login", "jwt", "--role", "payments", "--jwt-file", "-")
            .ok();

        // Refusals say why, and never echo the JWT.
        Map<String, Object> otherNamespace = claims(issuer.base);
        otherNamespace.put("kubernetes.io", Map.of("namespace", "billing"));
        String refused = issuer.mint("ES256", otherNamespace);
        KeywardenProcesses.Result r = cli(anon, refused, "login", "jwt", "--role", "payments", "--jwt-file", "-")
            .failed("UNAUTHENTICATED", "claim '/kubernetes.io/namespace'");
        assertFalse(r.err().contains(refused.split("\\.")[1]), r.err());
        cli(anon, issuer.mint("none", claims(issuer.base)), "login", "jwt", "--role", "payments", "--jwt-file", "-")
            .failed("UNAUTHENTICATED", "alg \"none\"");
        cli(anon, "not-a-jwt", "login", "jwt", "--role", "payments", "--jwt-file", "-")
            .failed("INVALID_ARGUMENT", "three dot-separated parts");

        cli(root, null, "auth", "jwt", "delete-role", "payments").ok();
        cli(anon, jwt, "login", "jwt", "--role", "payments", "--jwt-file", "-")
            .failed("UNAUTHENTICATED", "no jwt role named 'payments'");
        assertFalse(server.log.toString().contains(jwt.split("\\.")[2]), "no JWT in the server log");
      }
    }
  }
}
