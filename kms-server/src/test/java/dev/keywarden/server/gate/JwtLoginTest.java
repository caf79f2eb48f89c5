package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import com.nimbusds.jose.jwk.ECKey;
import dev.keywarden.api.v1.*;
import dev.keywarden.server.auth.jwt.NodeIssuer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * JWT login through the gate over gRPC, with JWTs that node's jose minted from its own keys and a loopback JWKS
 * server: every algorithm logs in, the token works within the role's policies, key rotation is followed, and every
 * refusal says why.
 */
class JwtLoginTest {
  static NodeIssuer issuer;
  @TempDir
  Path dir;
  LocalKeywarden kw;
  JwtAuthServiceGrpc.JwtAuthServiceBlockingStub jwt;
  JwtAuthServiceGrpc.JwtAuthServiceBlockingStub anonymous;

  @BeforeAll
  static void startIssuer() throws Exception {
    issuer = NodeIssuer.start();
  }

  @AfterAll
  static void stopIssuer() throws Exception {
    if (issuer != null) {
      issuer.close();
    }
  }

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
    jwt = JwtAuthServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    anonymous = JwtAuthServiceGrpc.newBlockingStub(kw.channel);
    kw.policies.write("orders-encrypt", "{\"rules\":[{\"resource\":\"transit/keys/orders\","
        + "\"capabilities\":[\"encrypt\"]}]}");
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  /** A role on the node issuer's JWKS: audience "keywarden", namespace "payments", policy orders-encrypt. */
  static JwtRole.Builder role() {
    return JwtRole.newBuilder().setIssuer(issuer.base).setJwksUrl(issuer.jwksUrl())
        .addBoundAudiences("keywarden").setBoundSubject("system:serviceaccount:payments:*")
        .addBoundClaims(BoundClaim.newBuilder().setPath("/kubernetes.io/namespace").addValues("payments"))
        .addPolicies("orders-encrypt");
  }

  /** Claims of a Kubernetes service-account token for payments/api, valid for 10 minutes. */
  static Map<String, Object> claims() {
    long now = Instant.now().getEpochSecond();
    Map<String, Object> c = new HashMap<>();
    c.put("iss", issuer.base);
    c.put("sub", "system:serviceaccount:payments:api");
    c.put("aud", List.of("keywarden", "other"));
    c.put("iat", now);
    c.put("nbf", now);
    c.put("exp", now + 600);
    c.put("kubernetes.io", Map.of("namespace", "payments", "serviceaccount", Map.of("name", "api")));
    return c;
  }

  static Map<String, Object> claims(String key, Object value) {
    Map<String, Object> c = claims();
    if (value == null) {
      c.remove(key);
    } else {
      c.put(key, value);
    }
    return c;
  }

  void write(String name, JwtRole.Builder role) {
    jwt.writeJwtRole(WriteJwtRoleRequest.newBuilder().setName(name).setRole(role).build());
  }

  JwtAuthServiceLoginResponse login(String role, String token) {
    return anonymous.login(JwtAuthServiceLoginRequest.newBuilder().setRole(role).setJwt(token).build());
  }

  static void refused(Status.Code code, String messagePart, Executable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
    assertTrue(e.getStatus().getDescription().contains(messagePart), e.getStatus().getDescription());
  }

  @Test
  void everyAlgorithmJoseSignsWithLogsInWithTheRolesPoliciesAndRecordsSubjectAndIssuer() throws Exception {
    write("payments", role());
    for (String alg : List.of("ES256", "ES384", "EdDSA", "RS256", "PS256")) {
      Map<String, Object> claims = claims();
      JwtAuthServiceLoginResponse r = login("payments", issuer.mint(alg, claims));
      assertTrue(r.getToken().startsWith("kwt_"), alg);
      TokenInfo info = r.getInfo();
      assertEquals(List.of("orders-encrypt"), info.getPoliciesList(), alg);
      assertEquals("", info.getParentAccessor());
      assertEquals("system:serviceaccount:payments:api", info.getMetadataOrThrow("jwt_subject"));
      assertEquals(issuer.base, info.getMetadataOrThrow("jwt_issuer"));
      assertEquals("payments", info.getMetadataOrThrow("role"));
      assertFalse(info.getMetadataMap().values().stream().anyMatch(v -> v.contains("eyJ")), "the JWT is not stored");
      // Capped by the JWT's own exp (10 minutes), not the role's 1h.
      assertTrue(Timestamps.toMillis(info.getExpireTime()) <= ((Number) claims.get("exp")).longValue() * 1000, alg);
    }
  }

  @Test
  void theTokenWorksWithinTheRolesPoliciesAndNoFurther() throws Exception {
    TransitServiceGrpc.TransitServiceBlockingStub root = TransitServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    root.createKey(CreateKeyRequest.newBuilder().setName("orders").build());
    root.createKey(CreateKeyRequest.newBuilder().setName("payroll").build());
    write("payments", role());
    String token = login("payments", issuer.mint("ES256", claims())).getToken();
    TransitServiceGrpc.TransitServiceBlockingStub workload = TransitServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(token));
    EncryptResponse ct = workload.encrypt(EncryptRequest.newBuilder().setName("orders")
        .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("card 4111"))).build());
    assertTrue(ct.getResults(0).getCiphertext().startsWith("kw:v1:"));
    refused(Status.Code.PERMISSION_DENIED, "[orders-encrypt]", () -> workload.decrypt(DecryptRequest.newBuilder()
        .setName("orders").addItems(DecryptItem.newBuilder().setCiphertext(ct.getResults(0).getCiphertext()))
        .build()));
    refused(Status.Code.PERMISSION_DENIED, "transit/keys/payroll", () -> workload.encrypt(EncryptRequest.newBuilder()
        .setName("payroll").addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("x"))).build()));
  }

  @Test
  void aKeyRotationAtTheIssuerStillLogsIn() throws Exception {
    write("payments", role());
    // The keys were fetched just now (a cache fill): the rotation's refetch is still let through.
    login("payments", issuer.mint("ES256", claims()));
    String rotated = issuer.rotate("ES256");
    String jwtWithNewKid = issuer.mint("ES256", claims());
    assertTrue(new String(Base64.getUrlDecoder().decode(jwtWithNewKid.split("\\.")[0])).contains(rotated));
    assertFalse(login("payments", jwtWithNewKid).getToken().isEmpty());
  }

  @Test
  void anUnknownKidIsRefusedAfterOneRefetchAndAFloodDoesNotHammerTheIssuer() throws Exception {
    write("payments", role());
    login("payments", issuer.mint("ES256", claims()));
    int before = issuer.jwksFetches();
    for (int i = 0; i < 25; i++) {
      String forged = issuer.mint(Map.of("alg", "ES256", "claims", claims(), "kid", "made-up-" + i));
      refused(Status.Code.UNAUTHENTICATED, "even after fetching the issuer's keys again",
          () -> login("payments", forged));
    }
    int fetched = issuer.jwksFetches() - before;
    assertEquals(1, fetched, "25 unknown kids within 10 s fetch the JWKS once");
  }

  @Test
  void aWrongSignatureIsRefused() throws Exception {
    write("payments", role());
    String[] a = issuer.mint("ES256", claims()).split("\\.");
    String[] b = issuer.mint("ES256", claims("sub", "system:serviceaccount:payments:other")).split("\\.");
    refused(Status.Code.UNAUTHENTICATED, "signature does not verify",
        () -> login("payments", a[0] + "." + b[1] + "." + a[2]));
  }

  @Test
  void wrongIssuerAudienceSubjectOrClaimIsRefused() throws Exception {
    write("payments", role());
    Map<String, Map<String, Object>> cases = new java.util.LinkedHashMap<>();
    cases.put("issuer 'https://evil.example'", claims("iss", "https://evil.example"));
    cases.put("names none of the role's bound audiences", claims("aud", "someone-else"));
    cases.put("subject 'system:serviceaccount:billing:api'", claims("sub", "system:serviceaccount:billing:api"));
    cases.put("claim '/kubernetes.io/namespace'", claims("kubernetes.io", Map.of("namespace", "billing")));
    cases.put("has no expiry", claims("exp", null));
    for (Map.Entry<String, Map<String, Object>> c : cases.entrySet()) {
      String token = issuer.mint("ES256", c.getValue());
      refused(Status.Code.UNAUTHENTICATED, c.getKey(), () -> login("payments", token));
    }
  }

  @Test
  void expiredOrNotYetValidBeyondTheClockSkewIsRefusedAndWithinItAccepted() throws Exception {
    write("payments", role().setClockSkew(Durations.fromSeconds(60)).setTokenOutlivesJwt(true));
    long now = Instant.now().getEpochSecond();
    refused(Status.Code.UNAUTHENTICATED, "expired at",
        () -> login("payments", issuer.mint("RS256", claims("exp", now - 120))));
    refused(Status.Code.UNAUTHENTICATED, "not valid before",
        () -> login("payments", issuer.mint("RS256", claims("nbf", now + 120))));
    refused(Status.Code.UNAUTHENTICATED, "issued in the future",
        () -> login("payments", issuer.mint("RS256", claims("iat", now + 120))));
    login("payments", issuer.mint("RS256", claims("exp", now - 20)));
    login("payments", issuer.mint("RS256", claims("nbf", now + 20)));
  }

  @Test
  void theTokenLivesNoLongerThanTheJwtUnlessTheRoleSaysSo() throws Exception {
    long exp = Instant.now().getEpochSecond() + 120;
    write("capped", role().setTokenTtl(Durations.fromSeconds(3600)));
    write("outlives", role().setTokenTtl(Durations.fromSeconds(3600)).setTokenOutlivesJwt(true));
    long capped = Timestamps.toMillis(login("capped", issuer.mint("ES256", claims("exp", exp))).getInfo()
        .getExpireTime());
    assertTrue(capped <= exp * 1000 && capped > exp * 1000 - 5000, "capped at the JWT's exp: " + capped);
    long outlives = Timestamps.toMillis(login("outlives", issuer.mint("ES256", claims("exp", exp))).getInfo()
        .getExpireTime());
    assertTrue(outlives > System.currentTimeMillis() + 3500_000, "the role's full hour: " + outlives);
    // Accepted within the clock skew, yet already expired: no token rather than one that outlives the JWT.
    refused(Status.Code.UNAUTHENTICATED, "expires in less than 2 seconds",
        () -> login("capped", issuer.mint("ES256", claims("exp", Instant.now().getEpochSecond() - 10))));
  }

  @Test
  void unsignedAndHmacJwtsAreNeverAccepted() throws Exception {
    write("payments", role());
    refused(Status.Code.UNAUTHENTICATED, "alg \"none\"", () -> login("payments", issuer.mint("none", claims())));
    refused(Status.Code.UNAUTHENTICATED, "HMAC", () -> login("payments", issuer.mint("HS256", claims())));
  }

  @Test
  void anAlgorithmTheRoleDoesNotAllowIsRefused() throws Exception {
    write("es-only", role().addAllowedAlgorithms(JwtAlgorithm.JWT_ALGORITHM_ES256));
    login("es-only", issuer.mint("ES256", claims()));
    refused(Status.Code.UNAUTHENTICATED, "RS256, which the role does not allow",
        () -> login("es-only", issuer.mint("RS256", claims())));
  }

  @Test
  void malformedJwtsAreInvalidArgumentAndNeverEchoed() throws Exception {
    write("payments", role());
    String good = issuer.mint("ES256", claims());
    String[] p = good.split("\\.");
    refused(Status.Code.INVALID_ARGUMENT, "three dot-separated parts", () -> login("payments", p[0] + "." + p[1]));
    refused(Status.Code.INVALID_ARGUMENT, "not base64url", () -> login("payments", p[0] + "." + p[1] + "!." + p[2]));
    String notJson = Base64.getUrlEncoder().withoutPadding().encodeToString("not json".getBytes());
    refused(Status.Code.INVALID_ARGUMENT, "payload is not a JSON object",
        () -> login("payments", p[0] + "." + notJson + "." + p[2]));
    Map<String, Object> huge = claims("padding", "x".repeat(17_000));
    String big = issuer.mint("ES256", huge);
    refused(Status.Code.INVALID_ARGUMENT, "the limit is 16384", () -> login("payments", big));
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> login("payments", p[0] + ".x"));
    assertFalse(e.getStatus().getDescription().contains(p[0]), "the JWT is never echoed");
  }

  @Test
  void oidcDiscoveryFindsTheJwksAndMustNameTheRolesIssuer() throws Exception {
    write("discovered", role().clearJwksUrl().setOidcDiscoveryUrl(issuer.base));
    assertFalse(login("discovered", issuer.mint("EdDSA", claims())).getToken().isEmpty());
    write("elsewhere", role().clearJwksUrl().setOidcDiscoveryUrl(issuer.base).setIssuer("https://issuer.example"));
    refused(Status.Code.UNAVAILABLE, "not the role's 'https://issuer.example'",
        () -> login("elsewhere", issuer.mint("EdDSA", claims("iss", "https://issuer.example"))));
  }

  @Test
  void staticKeysFromAJwksDocumentOrPemVerifyWithoutAnyFetch() throws Exception {
    String jwks = issuer.jwks().toString();
    write("static-jwks", role().clearJwksUrl().setStaticKeys(StaticKeys.newBuilder().setJwks(jwks)));
    ECKey es256 = null;
    for (com.fasterxml.jackson.databind.JsonNode k : issuer.jwks().get("keys")) {
      if (k.get("alg").asText().equals("ES256")) {
        es256 = ECKey.parse(k.toString());
      }
    }
    String pem = "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder().encodeToString(
        es256.toECPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n";
    write("static-pem", role().clearJwksUrl().setStaticKeys(StaticKeys.newBuilder().addPublicKeyPems(pem)));
    int before = issuer.jwksFetches();
    login("static-jwks", issuer.mint("PS256", claims()));
    login("static-pem", issuer.mint("ES256", claims()));
    refused(Status.Code.UNAUTHENTICATED, "no key of issuer", () -> login("static-pem", issuer.mint("ES384", claims())));
    assertEquals(before, issuer.jwksFetches());
  }

  @Test
  void roleWritesRefuseWhatCouldNeverBeSafe() {
    refused(Status.Code.INVALID_ARGUMENT, "allowed_algorithms[0]",
        () -> write("r", role().addAllowedAlgorithmsValue(0)));
    refused(Status.Code.INVALID_ARGUMENT, "allowed_algorithms[0]",
        () -> write("r", role().addAllowedAlgorithmsValue(42)));
    refused(Status.Code.INVALID_ARGUMENT, "'root'", () -> write("r", role().addPolicies("root")));
    refused(Status.Code.INVALID_ARGUMENT, "bound_audiences", () -> write("r", role().clearBoundAudiences()));
    refused(Status.Code.INVALID_ARGUMENT, "only to a loopback address",
        () -> write("r", role().setJwksUrl("http://issuer.example/jwks")));
    refused(Status.Code.INVALID_ARGUMENT, "exactly one key source", () -> write("r", role().clearJwksUrl()));
    refused(Status.Code.INVALID_ARGUMENT, "symmetric", () -> write("r", role().clearJwksUrl().setStaticKeys(
        StaticKeys.newBuilder().setJwks("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}"))));
    refused(Status.Code.INVALID_ARGUMENT, "clock_skew", () -> write("r", role().setClockSkew(Durations.fromHours(1))));
    refused(Status.Code.INVALID_ARGUMENT, "a jwt role name", () -> write("../x", role()));
  }

  @Test
  void rolesAreWrittenReadListedAndDeleted() {
    write("b", role());
    write("a", role().setTokenTtl(Durations.fromSeconds(600)));
    GetJwtRoleResponse got = jwt.getJwtRole(GetJwtRoleRequest.newBuilder().setName("a").build());
    assertEquals(600, got.getRole().getTokenTtl().getSeconds());
    assertEquals(60, got.getRole().getClockSkew().getSeconds());
    assertEquals(5, got.getRole().getAllowedAlgorithmsCount());
    assertEquals("/kubernetes.io/namespace", got.getRole().getBoundClaims(0).getPath());
    assertEquals(List.of("a", "b"), jwt.listJwtRoles(ListJwtRolesRequest.getDefaultInstance()).getNamesList());
    jwt.deleteJwtRole(DeleteJwtRoleRequest.newBuilder().setName("a").build());
    refused(Status.Code.NOT_FOUND, "no jwt role named 'a'",
        () -> jwt.getJwtRole(GetJwtRoleRequest.newBuilder().setName("a").build()));
    refused(Status.Code.UNAUTHENTICATED, "no jwt role named 'a'", () -> login("a", issuer.mint("ES256", claims())));
  }

  @Test
  void loginNeedsNoTokenButAnUnsealedServer() throws Exception {
    write("payments", role());
    String token = issuer.mint("ES256", claims());
    kw.core.seal();
    refused(Status.Code.FAILED_PRECONDITION, "sealed", () -> login("payments", token));
  }

  @Test
  void updatingARoleNeedsUpdateAndCreatingOneNeedsCreate() {
    kw.policies.write("jwt-creator", "{\"rules\":[{\"resource\":\"auth/jwt/roles/*\",\"capabilities\":[\"create\"]}]}");
    String t = kw.tokens.create(List.of("jwt-creator"), java.time.Duration.ofHours(1), "t").token();
    JwtAuthServiceGrpc.JwtAuthServiceBlockingStub creator = JwtAuthServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(t));
    creator.writeJwtRole(WriteJwtRoleRequest.newBuilder().setName("new").setRole(role()).build());
    refused(Status.Code.PERMISSION_DENIED, "'update'", () -> creator.writeJwtRole(
        WriteJwtRoleRequest.newBuilder().setName("new").setRole(role()).build()));
  }
}
