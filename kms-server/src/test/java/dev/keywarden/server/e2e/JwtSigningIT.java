package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.crypto.impl.ECDSA;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jwt.SignedJWT;
import dev.keywarden.api.v1.JwtServiceGrpc;
import dev.keywarden.api.v1.SignJwtRequest;
import dev.keywarden.api.v1.SignJwtItem;
import dev.keywarden.api.v1.VerifyJwtRequest;
import dev.keywarden.api.v1.VerifyJwtResponse;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import dev.keywarden.server.gate.LocalKeywarden;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JWT signing keys end to end: a server on SoftHSM2 (its JWT tick every second), the real CLI, and real verifiers —
 * node's jose through Keywarden's public JWKS (found by OIDC discovery), Nimbus, and OpenSSL from the JWK's
 * coordinates. Every algorithm, in the HSM and in software, verifies; and across a scheduled rotation of a few seconds
 * a jose verifier that fetched the JWKS once, before the new version signed, verifies every token, old tokens verify
 * until they expire, and the old kid then leaves the JWKS.
 */
class JwtSigningIT {
  private static final HttpClient HTTP = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
  @TempDir
  static Path work;
  static Server server;
  static Map<String, String> root;
  static String rootToken;
  static NodeVerifier jose;

  @BeforeAll
  static void start() throws Exception {
    jose = NodeVerifier.start();
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    server = startServer(List.of("-Dkeywarden.jwt.tick-period=1s"), Map.of("SOFTHSM2_CONF",
        token.conf().toString()), "--data-dir", work.resolve("data").toString(), "--pkcs11-library",
        token.library().toString(), "--pkcs11-token", token.label());
    Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
    JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
        pin.toString(), "--format", "json").ok().json();
    cli(anon, null, "operator", "unseal", init.get("shares").get(0).asText()).ok();
    rootToken = init.get("root_token").asText();
    root = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", rootToken);
  }

  @AfterAll
  static void stop() throws Exception {
    if (jose != null) {
      jose.close();
    }
    if (server != null) {
      server.close();
    }
  }

  static String base() {
    return "http://127.0.0.1:" + server.httpPort + "/v1/jwt/";
  }

  static HttpResponse<String> get(String url, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void joseNimbusAndOpenSslVerifyEveryAlgorithmThroughThePublishedJwks() throws Exception {
    Map<String, String> tokens = new LinkedHashMap<>();
    Map<String, String> algs = new LinkedHashMap<>();
    for (String[] k : List.of(new String[] {"es256", "ES256", ""}, new String[] {"es384", "ES384", ""},
        new String[] {"ed25519", "EdDSA", ""}, new String[] {"rs256", "RS256", ""}, new String[] {"ps256", "PS256", ""},
        new String[] {"soft-es256", "ES256", "--software"}, new String[] {"soft-ed25519", "EdDSA", "--software"})) {
      List<String> args = new ArrayList<>(List.of("jwt", "create-key", k[0], "--algorithm", k[1], "--issuer",
          base() + k[0], "--publish-ahead", "0s", "--format", "json"));
      if (!k[2].isEmpty()) {
        args.add(k[2]);
      }
      JsonNode key = cli(root, null, args.toArray(String[]::new)).ok().json().get("key");
      assertEquals(base() + k[0] + "/.well-known/jwks.json", key.get("jwks_uri").asText());
      cli(root, null, "jwt", "create-role", k[0] + "-svc", "--key", k[0], "--allowed-audiences", "payments",
          "--allowed-claim", "tier=1,2,3", "--max-ttl", "5m").ok();
      String jwt = cli(root, null, "jwt", "sign", k[0], "--role", k[0] + "-svc", "--claim", "tier=3").ok().out()
          .strip();
      tokens.put(k[0], jwt);
      algs.put(k[0], k[1]);
    }

    for (Map.Entry<String, String> t : tokens.entrySet()) {
      String name = t.getKey();
      // A relying party starts from the issuer: OIDC discovery names the JWKS.
      HttpResponse<String> discovery = get(base() + name + "/.well-known/openid-configuration");
      assertEquals(200, discovery.statusCode(), discovery.body());
      JsonNode doc = KeywardenProcesses.JSON.readTree(discovery.body());
      assertEquals(base() + name, doc.get("issuer").asText());
      assertEquals(algs.get(name), doc.get("id_token_signing_alg_values_supported").get(0).asText());
      String jwksUri = doc.get("jwks_uri").asText();

      JsonNode verified = jose.remote(jwksUri, base() + name, "payments", 0, List.of(t.getValue())).get(0);
      assertTrue(verified.get("ok").asBoolean(), name + ": " + verified);
      assertEquals(algs.get(name), verified.get("alg").asText());
      assertEquals(3, verified.get("payload").get("tier").asInt());
      assertTrue(verified.get("payload").get("tier").isIntegralNumber(), "tier is an integer in the token");
      assertEquals("root", verified.get("payload").get("sub").asText());
      assertFalse(jose.remote(jwksUri, base() + name, "billing", 0, List.of(t.getValue())).get(0).get("ok")
          .asBoolean(), "another audience is refused");

      JWKSet set = JWKSet.parse(get(jwksUri).body());
      SignedJWT parsed = SignedJWT.parse(t.getValue());
      assertTrue(parsed.verify(nimbus(set.getKeyByKeyId(parsed.getHeader().getKeyID()))), name + " with Nimbus");
      cli(root, null, "jwt", "verify", name, t.getValue(), "--audience", "payments").ok();
    }

    // OpenSSL verifies an ES256 signature (HSM key) from the JWK's x and y, as published over HTTP.
    SignedJWT es = SignedJWT.parse(tokens.get("es256"));
    ECKey ec = JWKSet.parse(get(base() + "es256/.well-known/jwks.json").body()).getKeyByKeyId(es.getHeader()
        .getKeyID()).toECKey();
    Path pub = work.resolve("es256.pem");
    Files.writeString(pub, "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(
        StandardCharsets.US_ASCII)).encodeToString(ec.toECPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n");
    Path input = work.resolve("signing-input");
    Files.write(input, es.getSigningInput());
    Path sig = work.resolve("signature.der");
    Files.write(sig, ECDSA.transcodeSignatureToDER(es.getSignature().decode()));
    Process openssl = new ProcessBuilder("openssl", "dgst", "-sha256", "-verify", pub.toString(), "-signature",
        sig.toString(), input.toString()).redirectErrorStream(true).start();
    String said = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(openssl.waitFor(30, TimeUnit.SECONDS) && openssl.exitValue() == 0 && said.contains("Verified OK"),
        said);

    // The JWKS is cacheable and conditional; unknown keys are 404 with a message.
    HttpResponse<String> jwks = get(base() + "es256/.well-known/jwks.json");
    String etag = jwks.headers().firstValue("etag").orElseThrow();
    assertEquals("public, max-age=0", jwks.headers().firstValue("cache-control").orElseThrow(),
        "publish_ahead 0s less the skew: verifiers must not cache it");
    assertTrue(jwks.headers().firstValue("content-type").orElseThrow().startsWith("application/json"));
    HttpResponse<String> unchanged = get(base() + "es256/.well-known/jwks.json", "If-None-Match", etag);
    assertEquals(304, unchanged.statusCode());
    assertEquals("", unchanged.body());
    assertEquals(200, get(base() + "es256/.well-known/jwks.json", "If-None-Match", "\"other\"").statusCode());
    HttpResponse<String> missing = get(base() + "nope/.well-known/jwks.json");
    assertEquals(404, missing.statusCode());
    assertTrue(missing.body().contains("JWT key 'nope' not found"), missing.body());

    // A batch: the item the role refuses is reported on stderr, the other is signed; exit 2.
    KeywardenProcesses.Result batch = cli(root, "[{\"tier\":2},{\"tier\":2,\"admin\":true}]", "jwt", "sign",
        "es256", "--role", "es256-svc", "--claims", "-");
    assertEquals(2, batch.exit());
    assertEquals(1, batch.out().strip().split("\n").length, batch.out());
    assertTrue(batch.err().contains("item 1: claim 'admin' is not allowed") && batch.err()
        .contains("(INVALID_ARGUMENT)"), batch.err());
    KeywardenProcesses.Result invalid = cli(root, null, "jwt", "verify", "es256", tokens.get("es256"), "--audience",
        "billing");
    assertEquals(1, invalid.exit());
    assertTrue(invalid.out().contains("invalid: token refused: its audience"), invalid.out());
    cli(root, null, "jwt", "verify", "es256", "x.y").failed("INVALID_ARGUMENT", "");

    // Managing keys: list, rotate ahead, an emergency rotation, revoking a version, deleting.
    assertTrue(cli(root, null, "jwt", "keys").ok().out().contains("soft-ed25519"));
    JsonNode ahead = cli(root, null, "jwt", "rotate", "es384", "--format", "json").ok().json();
    assertTrue(ahead.get("rotation").get("new_version").asBoolean());
    JsonNode now = cli(root, null, "jwt", "rotate", "es256", "--now", "--format", "json").ok().json();
    assertTrue(now.get("rotation").get("warning").asText().isEmpty(), "publish_ahead 0: nobody can be surprised");
    String newKid = now.get("rotation").get("kid").asText();
    assertEquals(newKid, SignedJWT.parse(cli(root, null, "jwt", "sign", "es256", "--role", "es256-svc").ok().out()
        .strip()).getHeader().getKeyID());
    assertTrue(jose.remote(base() + "es256/.well-known/jwks.json", base() + "es256", "payments", 0,
        List.of(tokens.get("es256"))).get(0).get("ok").asBoolean(), "the old version still verifies its token");
    String oldKid = es.getHeader().getKeyID();
    cli(root, null, "jwt", "revoke-version", "es256", oldKid).ok();
    assertFalse(get(base() + "es256/.well-known/jwks.json").body().contains(oldKid), "revoked: out of the JWKS");
    KeywardenProcesses.Result revoked = cli(root, null, "jwt", "verify", "es256", tokens.get("es256"));
    assertTrue(revoked.exit() == 1 && revoked.out().contains("no longer verifies"), revoked.out());
    assertTrue(cli(root, null, "jwt", "key", "es256").ok().out().contains("REVOKED"));
    cli(root, null, "jwt", "delete-role", "ps256-svc").ok();
    cli(root, null, "jwt", "delete-key", "ps256").ok();
    assertEquals(404, get(base() + "ps256/.well-known/jwks.json").statusCode());
    assertFalse(cli(root, null, "jwt", "roles").ok().out().contains("ps256-svc"));
  }

  private static JWSVerifier nimbus(JWK jwk) throws Exception {
    if (jwk instanceof ECKey ec) {
      return new ECDSAVerifier(ec);
    }
    if (jwk instanceof RSAKey rsa) {
      return new RSASSAVerifier(rsa);
    }
    return new Ed25519Verifier((OctetKeyPair) jwk);
  }

  /** A token signed now, with when it was signed; empty while no version signs. */
  record Signed(String jwt, String kid, Instant at, long exp) {}

  @Test
  void aJwksFetchedOnceBeforeAScheduledRotationVerifiesEveryTokenAcrossIt() throws Exception {
    String name = "rotating";
    String issuer = base() + name;
    String jwksUrl = issuer + "/.well-known/jwks.json";
    // Seconds instead of hours: published 4s ahead, rotated every 12s, tokens live 4s, 2s of skew.
    cli(root, null, "jwt", "create-key", name, "--algorithm", "ES256", "--issuer", issuer, "--publish-ahead", "4s",
        "--rotation-period", "12s", "--max-token-ttl", "4s", "--skew", "2s").ok();
    cli(root, null, "jwt", "create-role", "svc", "--key", name, "--allowed-audiences", "payments").ok();
    HttpResponse<String> first = get(jwksUrl);
    assertEquals("public, max-age=2", first.headers().firstValue("cache-control").orElseThrow(),
        "publish_ahead less the skew");

    ManagedChannel channel = NettyChannelBuilder.forTarget(server.addr()).usePlaintext().build();
    try {
      JwtServiceGrpc.JwtServiceBlockingStub grpc = JwtServiceGrpc.newBlockingStub(channel)
          .withCallCredentials(LocalKeywarden.bearer(rootToken));
      List<Signed> signed = new ArrayList<>();
      List<Signed> afterSnapshot = new ArrayList<>();
      String firstKid = null;
      String nextKid = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        Signed s = sign(grpc, name);
        if (s != null) {
          signed.add(s);
          firstKid = firstKid == null ? s.kid() : firstKid;
          if (nextKid != null) {
            afterSnapshot.add(s);
            // Verified at once: the snapshot was fetched before the new version signed, and is never fetched again.
            JsonNode v = jose.local("before", issuer, "payments", 2, List.of(s.jwt())).get(0);
            assertTrue(v.get("ok").asBoolean(), "the JWKS fetched once verifies " + s + ": " + v);
          }
        }
        if (nextKid == null && firstKid != null) {
          JsonNode keys = KeywardenProcesses.JSON.readTree(get(jwksUrl).body()).get("keys");
          if (keys.size() == 2) {
            // The scheduled rotation published the next version: the verifier fetches the JWKS, once.
            JsonNode snap = jose.snapshot("before", jwksUrl);
            assertEquals(2, snap.get("kids").size(), snap.toString());
            nextKid = snap.get("kids").get(0).asText(); // newest first
            assertNotEquals(firstKid, nextKid);
            assertEquals(firstKid, sign(grpc, name).kid(), "the next version is published, not yet signing");
          }
        }
        String next = nextKid;
        if (next != null && afterSnapshot.stream().filter(x -> x.kid().equals(next)).count() >= 3) {
          break;
        }
        Thread.sleep(250);
      }
      assertNotNull(nextKid, "a scheduled rotation published the next version within a minute: " + signed);
      String next = nextKid;
      String old = firstKid;
      assertTrue(afterSnapshot.stream().anyMatch(x -> x.kid().equals(old)), "tokens of the old version: " + signed);
      assertTrue(afterSnapshot.stream().filter(x -> x.kid().equals(next)).count() >= 3,
          "tokens of the new version: " + signed);

      // The old version's last token still verifies, with Keywarden and with a jose service, until it expires.
      Signed lastOld = afterSnapshot.stream().filter(x -> x.kid().equals(old)).reduce((a, b) -> b).orElseThrow();
      assertTrue(jose.remote(jwksUrl, issuer, "payments", 2, List.of(lastOld.jwt())).get(0).get("ok").asBoolean());
      VerifyJwtResponse stillValid = grpc.verifyJwt(VerifyJwtRequest.newBuilder().setKey(name).setJwt(lastOld.jwt())
          .build());
      assertTrue(stillValid.getValid(), stillValid.getReason());

      // Once every token of the old version has expired (plus the skew), its kid leaves the JWKS.
      Instant gone = null;
      while (System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(30)) {
        if (!get(jwksUrl).body().contains(old)) {
          gone = Instant.now();
          break;
        }
        Thread.sleep(250);
      }
      assertNotNull(gone, "the old kid left the JWKS");
      assertFalse(gone.getEpochSecond() < lastOld.exp(), "not before its last token expired (" + lastOld.exp()
          + "), left at " + gone);
      assertTrue(get(jwksUrl).body().contains(next));
      VerifyJwtResponse expired = grpc.verifyJwt(VerifyJwtRequest.newBuilder().setKey(name).setJwt(lastOld.jwt())
          .build());
      assertFalse(expired.getValid());
      JsonNode key = cli(root, null, "jwt", "key", name, "--format", "json").ok().json().get("key");
      assertEquals("JWT_KEY_VERSION_STATE_RETIRED", key.get("versions").get(0).get("state").asText(), key.toString());
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static Signed sign(JwtServiceGrpc.JwtServiceBlockingStub grpc, String key) throws Exception {
    try {
      String jwt = grpc.signJwt(SignJwtRequest.newBuilder().setKey(key).setRole("svc")
          .addItems(SignJwtItem.getDefaultInstance()).build()).getResults(0).getJwt();
      SignedJWT parsed = SignedJWT.parse(jwt);
      return new Signed(jwt, parsed.getHeader().getKeyID(), Instant.now(),
          parsed.getJWTClaimsSet().getExpirationTime().toInstant().getEpochSecond());
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode(), e.getStatus().toString());
      return null; // the first version is still pending
    }
  }
}
