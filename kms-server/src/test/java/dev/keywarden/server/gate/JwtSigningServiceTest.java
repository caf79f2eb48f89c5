package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;
import dev.keywarden.api.v1.*;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * JwtService through the gate over gRPC: policies on jwt/keys/NAME and jwt/roles/NAME decide who signs, verifies and
 * manages what; a batch's item refusals stay in their items while a bad key, role or batch fails the call; claims
 * travel as Struct with whole numbers as integers; tokens verify with Nimbus against the key's JWKS; VerifyJwt says
 * why a token is refused; and a rotation over the API keeps every token verifiable.
 */
class JwtSigningServiceTest {
  static final String ISSUER = "http://127.0.0.1:8401/v1/jwt/api";
  @TempDir
  Path dir;
  LocalKeywarden kw;
  JwtServiceGrpc.JwtServiceBlockingStub root;

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
    root = JwtServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  /** A key that signs at once (no publish-ahead), and a role for it that lets callers set tier and their aud. */
  private JwtKey createKey(String name, JwtAlgorithm alg) {
    JwtKey k = root.createJwtKey(CreateJwtKeyRequest.newBuilder().setConfig(JwtKeyConfig.newBuilder().setName(name)
        .setAlgorithm(alg).setIssuer("http://127.0.0.1:8401/v1/jwt/" + name).setPublishAhead(Durations.fromSeconds(0))
        .setMaxTokenTtl(Durations.fromSeconds(600))).build()).getKey();
    root.writeJwtSigningRole(WriteJwtSigningRoleRequest.newBuilder().setRole(JwtSigningRole.newBuilder()
        .setName(name + "-svc").setKey(name).addAllowedAudiences("payments").addAllowedAudiences("billing-*")
        .putAllowedClaims("tier", JwtClaimGlobs.newBuilder().addGlobs("1").addGlobs("2").addGlobs("3").build())
        .setMaxTtl(Durations.fromSeconds(300))).build());
    return k;
  }

  private static Struct claims(Object... kv) {
    Struct.Builder b = Struct.newBuilder();
    for (int i = 0; i < kv.length; i += 2) {
      b.putFields((String) kv[i], value(kv[i + 1]));
    }
    return b.build();
  }

  private static Value value(Object o) {
    if (o instanceof Number n) {
      return Value.newBuilder().setNumberValue(n.doubleValue()).build();
    }
    if (o instanceof List<?> l) {
      ListValue.Builder lb = ListValue.newBuilder();
      l.forEach(e -> lb.addValues(value(e)));
      return Value.newBuilder().setListValue(lb).build();
    }
    return Value.newBuilder().setStringValue((String) o).build();
  }

  private SignJwtRequest.Builder sign(String key, Struct... items) {
    SignJwtRequest.Builder b = SignJwtRequest.newBuilder().setKey(key).setRole(key + "-svc");
    for (Struct s : items) {
      b.addItems(SignJwtItem.newBuilder().setClaims(s));
    }
    return b;
  }

  private JWKSet jwks(String key) throws Exception {
    return JWKSet.parse(kw.jwtKeys.jwks(key).json());
  }

  private static boolean verifies(String token, JWKSet set) throws Exception {
    SignedJWT jwt = SignedJWT.parse(token);
    JWK jwk = set.getKeyByKeyId(jwt.getHeader().getKeyID());
    if (jwk == null) {
      return false;
    }
    JWSVerifier v = new DefaultJWSVerifierFactory().createJWSVerifier(jwt.getHeader(), switch (jwk.getKeyType()
        .getValue()) {
      case "EC" -> jwk.toECKey().toECPublicKey();
      case "RSA" -> jwk.toRSAKey().toRSAPublicKey();
      default -> null;
    });
    return jwt.verify(v);
  }

  private static Status.Code code(Executable call) {
    return assertThrows(StatusRuntimeException.class, call).getStatus().getCode();
  }

  private static String message(Executable call) {
    return assertThrows(StatusRuntimeException.class, call).getStatus().getDescription();
  }

  @Test
  void aBatchSignsEachItemAndRefusesOnlyTheItemsTheRoleForbids() throws Exception {
    createKey("api", JwtAlgorithm.JWT_ALGORITHM_ES256);
    SignJwtResponse r = root.signJwt(sign("api", claims("aud", "payments", "tier", 3),
        claims("aud", "payments", "admin", "true"), claims("aud", List.of("billing-eu", "payments")),
        claims("aud", "payments", "iss", "https://evil.example")).build());
    assertEquals(4, r.getResultsCount());
    assertTrue(r.getResults(0).hasJwt() && r.getResults(2).hasJwt());
    assertEquals("INVALID_ARGUMENT", r.getResults(1).getError().getCode());
    assertTrue(r.getResults(1).getError().getMessage().contains("claim 'admin' is not allowed by role 'api-svc'"),
        r.getResults(1).getError().getMessage());
    assertTrue(r.getResults(3).getError().getMessage().contains("'iss' is set by the server"));

    // The claims as a JSON client meant them: the whole number 3 is an integer, sub is the caller's identity (root).
    SignedJWT t = SignedJWT.parse(r.getResults(0).getJwt());
    assertEquals(3L, t.getJWTClaimsSet().getClaim("tier"));
    assertEquals("root", t.getJWTClaimsSet().getSubject());
    assertEquals(ISSUER, t.getJWTClaimsSet().getIssuer());
    assertEquals(List.of("payments"), t.getJWTClaimsSet().getAudience());
    assertEquals(300, (t.getJWTClaimsSet().getExpirationTime().getTime() - t.getJWTClaimsSet().getIssueTime()
        .getTime()) / 1000, "the role's max_ttl");
    assertTrue(t.getPayload().toString().contains("\"tier\":3"), t.getPayload().toString());
    for (SignJwtResult x : List.of(r.getResults(0), r.getResults(2))) {
      assertTrue(verifies(x.getJwt(), jwks("api")), "Nimbus verifies it against the JWKS");
    }
  }

  @Test
  void aBadKeyRoleBatchOrTtlFailsTheWholeCallWithAnActionableStatus() {
    createKey("api", JwtAlgorithm.JWT_ALGORITHM_EDDSA);
    createKey("other", JwtAlgorithm.JWT_ALGORITHM_ES256);
    Struct ok = claims("aud", "payments");
    assertEquals(Status.Code.NOT_FOUND, code(() -> root.signJwt(sign("api", ok).setRole("nope").build())));
    assertTrue(message(() -> root.signJwt(sign("api", ok).setRole("other-svc").build()))
        .contains("role 'other-svc' signs with JWT key 'other', not 'api'"));
    assertTrue(message(() -> root.signJwt(sign("missing", ok).setRole("api-svc").build())).contains("not 'missing'"));
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> root.signJwt(sign("api").build())));
    SignJwtRequest.Builder huge = sign("api");
    for (int i = 0; i <= 10_000; i++) {
      huge.addItems(SignJwtItem.newBuilder().setClaims(ok));
    }
    assertTrue(message(() -> root.signJwt(huge.build())).contains("give 1 to 10000 claims sets to sign, got 10001"));
    assertTrue(message(() -> root.signJwt(sign("api", ok).setTtl(Durations.fromSeconds(301)).build()))
        .contains("ttl: 301s exceeds role 'api-svc''s max_ttl 300s"));
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> root.signJwt(sign("a/b", ok).build())));

    // A new key signs nothing until its publish-ahead has passed; the message says when, and how to hurry it.
    root.createJwtKey(CreateJwtKeyRequest.newBuilder().setConfig(JwtKeyConfig.newBuilder().setName("later")
        .setAlgorithm(JwtAlgorithm.JWT_ALGORITHM_ES256).setIssuer("https://kms.example/v1/jwt/later")).build());
    root.writeJwtSigningRole(WriteJwtSigningRoleRequest.newBuilder().setRole(JwtSigningRole.newBuilder()
        .setName("later-svc").setKey("later").addAllowedAudiences("payments")).build());
    StatusRuntimeException pending = assertThrows(StatusRuntimeException.class,
        () -> root.signJwt(sign("later", ok).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, pending.getStatus().getCode());
    assertTrue(pending.getStatus().getDescription().contains("publish_ahead"), pending.getStatus().getDescription());

    // Bad settings name the field.
    assertTrue(message(() -> root.createJwtKey(CreateJwtKeyRequest.newBuilder().setConfig(JwtKeyConfig.newBuilder()
        .setName("x").setAlgorithm(JwtAlgorithm.JWT_ALGORITHM_ES256).setIssuer("http://kms.example/v1/jwt/x"))
        .build())).contains("http is allowed only on a loopback host"));
    assertTrue(message(() -> root.createJwtKey(CreateJwtKeyRequest.newBuilder().setConfig(JwtKeyConfig.newBuilder()
        .setName("x").setIssuer("https://kms.example/v1/jwt/x")).build())).contains("algorithm is missing"));
  }

  @Test
  void policiesOnKeysAndRolesDecideWhoSignsVerifiesAndManages() {
    createKey("api", JwtAlgorithm.JWT_ALGORITHM_ES256);
    createKey("other", JwtAlgorithm.JWT_ALGORITHM_ES256);
    kw.policies.write("api-signer", "{\"rules\":[{\"resource\":\"jwt/keys/api\",\"capabilities\":[\"sign\"]},"
        + "{\"resource\":\"jwt/roles/api-svc\",\"capabilities\":[\"sign\"]}]}");
    kw.policies.write("api-verifier", "{\"rules\":[{\"resource\":\"jwt/keys/api\",\"capabilities\":[\"verify\"]}]}");
    JwtServiceGrpc.JwtServiceBlockingStub signer = as("api-signer", "orders-api");
    JwtServiceGrpc.JwtServiceBlockingStub verifier = as("api-verifier", "gateway");

    String token = signer.signJwt(sign("api", claims("aud", "payments")).build()).getResults(0).getJwt();
    assertTrue(message(() -> signer.signJwt(sign("other", claims("aud", "payments")).build()))
        .contains("jwt/keys/other"));
    kw.policies.write("key-only", "{\"rules\":[{\"resource\":\"jwt/keys/api\",\"capabilities\":[\"sign\"]}]}");
    assertTrue(message(() -> as("key-only", "orders-api").signJwt(sign("api", claims("aud", "payments")).build()))
        .contains("jwt/roles/api-svc"), "signing needs the role too");
    assertEquals(Status.Code.PERMISSION_DENIED, code(() -> signer.verifyJwt(VerifyJwtRequest.newBuilder()
        .setKey("api").setJwt(token).build())));
    assertEquals(Status.Code.PERMISSION_DENIED, code(() -> signer.rotateJwtKey(RotateJwtKeyRequest.newBuilder()
        .setName("api").build())));
    assertEquals(Status.Code.PERMISSION_DENIED, code(() -> signer.listJwtKeys(ListJwtKeysRequest.newBuilder()
        .build())));
    assertEquals(Status.Code.PERMISSION_DENIED, code(() -> signer.writeJwtSigningRole(WriteJwtSigningRoleRequest
        .newBuilder().setRole(JwtSigningRole.newBuilder().setName("api-svc").setKey("api")
            .addAllowedAudiences("*")).build())));

    VerifyJwtResponse v = verifier.verifyJwt(VerifyJwtRequest.newBuilder().setKey("api").setJwt(token)
        .setAudience("payments").build());
    assertTrue(v.getValid(), v.getReason());
    assertEquals("orders-api", v.getClaims().getFieldsOrThrow("sub").getStringValue(), "{{identity}} is the caller");

    // Role writes need create (new) or update (existing) on the role.
    kw.policies.write("role-maker", "{\"rules\":[{\"resource\":\"jwt/roles/new-*\",\"capabilities\":[\"create\"]}]}");
    JwtServiceGrpc.JwtServiceBlockingStub maker = as("role-maker", "ops");
    maker.writeJwtSigningRole(WriteJwtSigningRoleRequest.newBuilder().setRole(JwtSigningRole.newBuilder()
        .setName("new-one").setKey("api").addAllowedAudiences("x")).build());
    assertTrue(message(() -> maker.writeJwtSigningRole(WriteJwtSigningRoleRequest.newBuilder().setRole(
        JwtSigningRole.newBuilder().setName("new-one").setKey("api").addAllowedAudiences("*")).build()))
        .contains("update"));
  }

  private JwtServiceGrpc.JwtServiceBlockingStub as(String policy, String displayName) {
    String token = kw.tokens.create(List.of(policy), Duration.ofHours(1), displayName).token();
    return JwtServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(token));
  }

  @Test
  void verifyJwtSaysWhyATokenIsRefusedAndRefusesTextThatIsNoJws() {
    createKey("api", JwtAlgorithm.JWT_ALGORITHM_PS256);
    String token = root.signJwt(sign("api", claims("aud", "payments")).build()).getResults(0).getJwt();
    VerifyJwtResponse wrongAud = root.verifyJwt(VerifyJwtRequest.newBuilder().setKey("api").setJwt(token)
        .setAudience("billing").build());
    assertFalse(wrongAud.getValid());
    assertTrue(wrongAud.getReason().contains("does not contain 'billing'"), wrongAud.getReason());
    String[] parts = token.split("\\.");
    String altered = parts[0] + "." + parts[1] + "." + (parts[2].charAt(0) == 'A' ? "B" : "A")
        + parts[2].substring(1);
    VerifyJwtResponse bad = root.verifyJwt(VerifyJwtRequest.newBuilder().setKey("api").setJwt(altered).build());
    assertFalse(bad.getValid());
    assertTrue(bad.getReason().contains("signature does not verify"), bad.getReason());

    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> root.verifyJwt(VerifyJwtRequest.newBuilder().setKey("api")
        .setJwt("not-a-jwt").build())));
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> root.verifyJwt(VerifyJwtRequest.newBuilder().setKey("api")
        .build())));
    // A token field has the JWT bound (16 KiB), not the names' 1 KiB.
    assertEquals("jwt is 16385 characters; the limit is 16384",
        message(() -> root.verifyJwt(VerifyJwtRequest.newBuilder().setKey("api").setJwt("a".repeat(16385))
            .build())));
  }

  @Test
  void aRotationOverTheApiPublishesAheadAndKeepsOldTokensVerifiable() throws Exception {
    root.createJwtKey(CreateJwtKeyRequest.newBuilder().setConfig(JwtKeyConfig.newBuilder().setName("api")
        .setAlgorithm(JwtAlgorithm.JWT_ALGORITHM_ES256).setSoftware(true).setIssuer(ISSUER)
        .setPublishAhead(Durations.fromSeconds(600)).setMaxTokenTtl(Durations.fromSeconds(300))
        .setSkew(Durations.fromSeconds(30))).build());
    root.writeJwtSigningRole(WriteJwtSigningRoleRequest.newBuilder().setRole(JwtSigningRole.newBuilder()
        .setName("api-svc").setKey("api").addAllowedAudiences("payments")).build());
    kw.jwtClock.advance(Duration.ofSeconds(601));
    JwtKey before = root.getJwtKey(GetJwtKeyRequest.newBuilder().setName("api").build()).getKey();
    assertEquals(JwtKeyVersionState.JWT_KEY_VERSION_STATE_ACTIVE, before.getVersions(0).getState());
    assertEquals("http://127.0.0.1:8401/v1/jwt/api/.well-known/jwks.json", before.getJwksUri());
    String old = root.signJwt(sign("api", Struct.getDefaultInstance()).build()).getResults(0).getJwt();
    JWKSet fetchedBefore = JWKSet.parse(kw.jwtKeys.jwks("api").json());

    RotateJwtKeyResponse rotated = root.rotateJwtKey(RotateJwtKeyRequest.newBuilder().setName("api").build());
    assertTrue(rotated.getRotation().getNewVersion());
    assertEquals(JwtKeyVersionState.JWT_KEY_VERSION_STATE_PENDING, rotated.getKey().getVersions(1).getState());
    JWKSet published = jwks("api");
    assertEquals(2, published.getKeys().size(), "the new version is published before it signs");
    kw.jwtClock.advance(Duration.ofSeconds(601));
    String fresh = root.signJwt(sign("api", Struct.getDefaultInstance()).build()).getResults(0).getJwt();
    assertEquals(rotated.getRotation().getKid(), SignedJWT.parse(fresh).getHeader().getKeyID());
    assertTrue(verifies(fresh, published), "a JWKS fetched before the new version signed verifies its tokens");
    assertFalse(verifies(fresh, fetchedBefore), "(the one fetched before the rotation does not know it)");
    assertTrue(verifies(old, jwks("api")), "the old version is still published for its tokens");

    // An emergency: revoke the signing version; another signs at once and the revoked kid leaves the JWKS.
    RevokeJwtKeyVersionResponse revoked = root.revokeJwtKeyVersion(RevokeJwtKeyVersionRequest.newBuilder()
        .setName("api").setKid(rotated.getRotation().getKid()).build());
    assertTrue(revoked.getWasActive() && revoked.hasReplacement());
    assertFalse(revoked.getReplacement().getWarning().isEmpty(), "an emergency rotation warns");
    assertNull(jwks("api").getKeyByKeyId(rotated.getRotation().getKid()));
    VerifyJwtResponse v = root.verifyJwt(VerifyJwtRequest.newBuilder().setKey("api").setJwt(fresh).build());
    assertFalse(v.getValid());
    assertTrue(v.getReason().contains("no longer verifies"), v.getReason());
    assertEquals(Status.Code.NOT_FOUND, code(() -> root.revokeJwtKeyVersion(RevokeJwtKeyVersionRequest.newBuilder()
        .setName("api").setKid("nope").build())));

    assertEquals(List.of("api"), root.listJwtKeys(ListJwtKeysRequest.getDefaultInstance()).getNamesList());
    assertEquals(List.of("api-svc"), root.listJwtSigningRoles(ListJwtSigningRolesRequest.getDefaultInstance())
        .getNamesList());
    DeleteJwtKeyResponse deleted = root.deleteJwtKey(DeleteJwtKeyRequest.newBuilder().setName("api").build());
    assertEquals(List.of(), deleted.getProblemsList());
    assertEquals(Status.Code.NOT_FOUND, code(() -> root.getJwtKey(GetJwtKeyRequest.newBuilder().setName("api")
        .build())));
  }

  @Test
  void aCallerWithoutADisplayNameIsToldHowToSign() {
    createKey("api", JwtAlgorithm.JWT_ALGORITHM_ES256);
    kw.policies.write("api-signer", "{\"rules\":[{\"resource\":\"jwt/keys/api\",\"capabilities\":[\"sign\"]},"
        + "{\"resource\":\"jwt/roles/api-svc\",\"capabilities\":[\"sign\"]}]}");
    JwtServiceGrpc.JwtServiceBlockingStub anonymous = as("api-signer", "");
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> anonymous.signJwt(sign("api", claims("aud", "payments")).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("--display-name"), e.getStatus().getDescription());
  }
}
