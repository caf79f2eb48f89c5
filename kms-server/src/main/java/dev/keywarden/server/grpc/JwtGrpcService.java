package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.*;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.jwt.DeletedJwtKey;
import dev.keywarden.jwt.JwtEngine;
import dev.keywarden.jwt.JwtIdentity;
import dev.keywarden.jwt.JwtKeyInfo;
import dev.keywarden.jwt.JwtKeySettings;
import dev.keywarden.jwt.JwtKeyUpdate;
import dev.keywarden.jwt.JwtRole;
import dev.keywarden.jwt.JwtVersionInfo;
import dev.keywarden.jwt.RevocationResult;
import dev.keywarden.jwt.RotationResult;
import dev.keywarden.jwt.SignResult;
import dev.keywarden.jwt.VerifiedJwt;
import dev.keywarden.server.auth.Caller;
import dev.keywarden.server.gate.Check;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * gRPC JwtService (JWT signing keys; JWT login is {@link JwtAuthGrpcService}): the gate authorizes
 * {@code jwt/keys[/NAME]} or {@code jwt/roles[/NAME]} from the table below; each handler validates, calls the engine
 * and shapes the result. The caller's identity at the gate (display name and metadata) fills the roles'
 * {{identity}} and {{meta.KEY}} templates.
 */
@Singleton
public final class JwtGrpcService implements JwtServiceGrpc.AsyncService, GuardedService {
  private final JwtEngine engine;
  private final Gate gate;

  public JwtGrpcService(JwtEngine engine, Gate gate) {
    this.engine = engine;
    this.gate = gate;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(JwtServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(JwtServiceGrpc.getServiceDescriptor())
        .allow(JwtServiceGrpc.getCreateJwtKeyMethod(), r -> key(r.getConfig().getName(), "config.name"), "create")
        .allow(JwtServiceGrpc.getUpdateJwtKeyMethod(), r -> key(r.getName(), "name"), "update")
        .allow(JwtServiceGrpc.getGetJwtKeyMethod(), r -> key(r.getName(), "name"), "read")
        .allow(JwtServiceGrpc.getListJwtKeysMethod(), r -> "jwt/keys", "list")
        .allow(JwtServiceGrpc.getDeleteJwtKeyMethod(), r -> key(r.getName(), "name"), "delete")
        .allow(JwtServiceGrpc.getRotateJwtKeyMethod(), r -> key(r.getName(), "name"), "rotate")
        // Revoking a version rotates the key when it was the active one: the same right as an emergency rotation.
        .allow(JwtServiceGrpc.getRevokeJwtKeyVersionMethod(), r -> key(r.getName(), "name"), "rotate")
        // Callers with neither right are refused before storage is read, so a denial never tells whether the role
        // exists; then the one the write needs: create for a new role, update for an existing one.
        .checks(JwtServiceGrpc.getWriteJwtSigningRoleMethod(),
            Check.anyOf(r -> role(r.getRole().getName(), "role.name"), "create", "update"),
            Check.chosen(r -> role(r.getRole().getName(), "role.name"),
                r -> engine.roleExists(r.getRole().getName()) ? "update" : "create",
                Set.of("create", "update")))
        .allow(JwtServiceGrpc.getGetJwtSigningRoleMethod(), r -> role(r.getName(), "name"), "read")
        .allow(JwtServiceGrpc.getListJwtSigningRolesMethod(), r -> "jwt/roles", "list")
        .allow(JwtServiceGrpc.getDeleteJwtSigningRoleMethod(), r -> role(r.getName(), "name"), "delete")
        // Both: the key a token is signed with, and the role that bounds what the caller may put in it (otherwise
        // anyone who may sign with a key could pick its most permissive role).
        .checks(JwtServiceGrpc.getSignJwtMethod(), Check.on(r -> key(r.getKey(), "key"), "sign"),
            Check.on(r -> role(r.getRole(), "role"), "sign"))
        .allow(JwtServiceGrpc.getVerifyJwtMethod(), r -> key(r.getKey(), "key"), "verify")
        .build();
  }

  /** {@code jwt/keys/NAME}, once NAME is a valid key name (so no policy pattern can be steered by it). */
  private static String key(String name, String field) {
    return "jwt/keys/" + Inputs.name(field + ": a JWT key name", name);
  }

  /** {@code jwt/roles/NAME}, once NAME is a valid role name. */
  private static String role(String name, String field) {
    return "jwt/roles/" + Inputs.name(field + ": a JWT role name", name);
  }

  // ---- keys ----

  @Override
  public void createJwtKey(CreateJwtKeyRequest r, StreamObserver<CreateJwtKeyResponse> out) {
    JwtKeyConfig c = r.getConfig();
    JwtKeySettings settings = new JwtKeySettings(c.getName(), algorithm(c.getAlgorithm()), c.getRsaBits(),
        c.getSoftware(), c.getIssuer(), optional(c.hasPublishAhead(), c.getPublishAhead(), "publish_ahead"),
        Optional.ofNullable(optional(c.hasRotationPeriod(), c.getRotationPeriod(), "rotation_period")),
        optional(c.hasMaxTokenTtl(), c.getMaxTokenTtl(), "max_token_ttl"),
        optional(c.hasSkew(), c.getSkew(), "skew"));
    reply(out, CreateJwtKeyResponse.newBuilder().setKey(key(engine.createKey(settings))).build());
  }

  @Override
  public void updateJwtKey(UpdateJwtKeyRequest r, StreamObserver<UpdateJwtKeyResponse> out) {
    JwtKeyUpdate u = new JwtKeyUpdate(r.getIssuer().isEmpty() ? Optional.empty() : Optional.of(r.getIssuer()),
        Optional.ofNullable(optional(r.hasPublishAhead(), r.getPublishAhead(), "publish_ahead")),
        Optional.ofNullable(optional(r.hasRotationPeriod(), r.getRotationPeriod(), "rotation_period")),
        Optional.ofNullable(optional(r.hasMaxTokenTtl(), r.getMaxTokenTtl(), "max_token_ttl")),
        Optional.ofNullable(optional(r.hasSkew(), r.getSkew(), "skew")));
    reply(out, UpdateJwtKeyResponse.newBuilder().setKey(key(engine.updateKey(r.getName(), u))).build());
  }

  @Override
  public void getJwtKey(GetJwtKeyRequest r, StreamObserver<GetJwtKeyResponse> out) {
    reply(out, GetJwtKeyResponse.newBuilder().setKey(key(engine.key(r.getName()))).build());
  }

  @Override
  public void listJwtKeys(ListJwtKeysRequest r, StreamObserver<ListJwtKeysResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    List<String> page = engine.listKeys(r.getAfter(), limit);
    reply(out, ListJwtKeysResponse.newBuilder().addAllNames(page).setNextAfter(ListPages.nextAfter(page, limit))
        .build());
  }

  @Override
  public void deleteJwtKey(DeleteJwtKeyRequest r, StreamObserver<DeleteJwtKeyResponse> out) {
    DeletedJwtKey d = engine.deleteKey(r.getName());
    reply(out, DeleteJwtKeyResponse.newBuilder().addAllDestroyedKids(d.destroyedKids())
        .addAllProblems(d.problems()).build());
  }

  @Override
  public void rotateJwtKey(RotateJwtKeyRequest r, StreamObserver<RotateJwtKeyResponse> out) {
    RotationResult rotated = engine.rotate(r.getName(), r.getNow());
    reply(out, RotateJwtKeyResponse.newBuilder().setRotation(rotation(rotated))
        .setKey(key(engine.key(r.getName()))).build());
  }

  @Override
  public void revokeJwtKeyVersion(RevokeJwtKeyVersionRequest r, StreamObserver<RevokeJwtKeyVersionResponse> out) {
    RevocationResult revoked = engine.revokeVersion(r.getName(), r.getKid());
    RevokeJwtKeyVersionResponse.Builder b = RevokeJwtKeyVersionResponse.newBuilder().setVersion(revoked.version())
        .setKid(revoked.kid()).setRevokedAt(timestamp(revoked.revokedAt())).setWasActive(revoked.wasActive());
    revoked.replacement().ifPresent(x -> b.setReplacement(rotation(x)));
    reply(out, b.build());
  }

  // ---- roles ----

  @Override
  public void writeJwtSigningRole(WriteJwtSigningRoleRequest r, StreamObserver<WriteJwtSigningRoleResponse> out) {
    if (!r.hasRole()) {
      throw KeywardenException.invalid("role is missing");
    }
    JwtSigningRole role = r.getRole();
    if (!role.hasMaxTtl()) {
      role = role.toBuilder().setMaxTtl(duration(defaultMaxTtl(role.getKey()))).build();
    }
    engine.writeRole(fromProto(role));
    reply(out, WriteJwtSigningRoleResponse.newBuilder().setRole(toProto(engine.role(r.getRole().getName())))
        .build());
  }

  /** A role's max_ttl when it names none: the default, or the key's max_token_ttl when that is shorter. */
  private Duration defaultMaxTtl(String keyName) {
    try {
      Duration keyMost = engine.key(keyName).settings().maxTokenTtl();
      return keyMost.compareTo(JwtRole.DEFAULT_MAX_TTL) < 0 ? keyMost : JwtRole.DEFAULT_MAX_TTL;
    } catch (KeywardenException e) {
      return JwtRole.DEFAULT_MAX_TTL; // no such key (or a bad name): writeRole says so
    }
  }

  @Override
  public void getJwtSigningRole(GetJwtSigningRoleRequest r, StreamObserver<GetJwtSigningRoleResponse> out) {
    reply(out, GetJwtSigningRoleResponse.newBuilder().setRole(toProto(engine.role(r.getName()))).build());
  }

  @Override
  public void listJwtSigningRoles(ListJwtSigningRolesRequest r, StreamObserver<ListJwtSigningRolesResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    List<String> page = engine.listRoles(r.getAfter(), limit);
    reply(out, ListJwtSigningRolesResponse.newBuilder().addAllNames(page).setNextAfter(ListPages.nextAfter(page, limit))
        .build());
  }

  @Override
  public void deleteJwtSigningRole(DeleteJwtSigningRoleRequest r,
      StreamObserver<DeleteJwtSigningRoleResponse> out) {
    engine.deleteRole(r.getName());
    reply(out, DeleteJwtSigningRoleResponse.getDefaultInstance());
  }

  // ---- tokens ----

  @Override
  public void signJwt(SignJwtRequest r, StreamObserver<SignJwtResponse> out) {
    if (r.getItemsCount() == 0 || r.getItemsCount() > JwtEngine.MAX_BATCH) {
      throw KeywardenException.invalid("items: give 1 to " + JwtEngine.MAX_BATCH + " claims sets to sign, got "
          + r.getItemsCount() + (r.getItemsCount() > 0 ? ": split the batch" : ""));
    }
    // Items whose claims are not JSON values (NaN, infinities) get their error here; the rest go to the engine.
    List<Map<String, Object>> claims = new ArrayList<>(r.getItemsCount());
    SignJwtResult[] results = new SignJwtResult[r.getItemsCount()];
    for (int i = 0; i < r.getItemsCount(); i++) {
      try {
        claims.add(JwtClaimsStruct.claims(r.getItems(i).getClaims()));
      } catch (KeywardenException e) {
        results[i] = SignJwtResult.newBuilder().setError(itemError(e.kind(), e.getMessage())).build();
      }
    }
    List<SignResult> signed = claims.isEmpty() ? List.of() : engine.sign(r.getKey(), r.getRole(), identity(), claims,
        r.hasTtl() ? Optional.of(duration(r.getTtl(), "ttl")) : Optional.empty());
    SignJwtResponse.Builder b = SignJwtResponse.newBuilder();
    int next = 0;
    for (SignJwtResult known : results) {
      if (known != null) {
        b.addResults(known);
        continue;
      }
      SignResult s = signed.get(next++);
      b.addResults(s.ok() ? SignJwtResult.newBuilder().setJwt(s.token().get())
          : SignJwtResult.newBuilder().setError(itemError(s.error().get().kind(), s.error().get().message())));
    }
    reply(out, b.build());
  }

  @Override
  public void verifyJwt(VerifyJwtRequest r, StreamObserver<VerifyJwtResponse> out) {
    if (r.getJwt().isEmpty()) {
      throw KeywardenException.invalid("jwt is missing: give the compact JWS (header.payload.signature) to verify");
    }
    Optional<String> audience = r.getAudience().isEmpty() ? Optional.empty() : Optional.of(r.getAudience());
    VerifiedJwt v;
    try {
      v = engine.verify(r.getKey(), r.getJwt(), audience);
    } catch (KeywardenException e) {
      if (e.kind() != Kind.UNAUTHENTICATED) {
        throw e; // not a JWS at all, an unknown key, sealed: the call's own failure
      }
      reply(out, VerifyJwtResponse.newBuilder().setValid(false).setReason(e.getMessage()).build());
      return;
    }
    reply(out, VerifyJwtResponse.newBuilder().setValid(true).setKid(v.kid()).setVersion(v.version())
        .setClaims(JwtClaimsStruct.struct(v.claims())).build());
  }

  // ---- mapping ----

  /** The caller as roles' templates read it; a caller without a name cannot fill {{identity}}. */
  private static JwtIdentity identity() {
    Caller c = Gate.caller();
    if (c.displayName().isEmpty()) {
      throw KeywardenException.precondition("the caller has no display name, which JWT roles read as {{identity}}:"
          + " sign with a token made with `token create --display-name NAME`, a login token, or a client"
          + " certificate");
    }
    return new JwtIdentity(c.displayName(), c.metadata());
  }

  private static ItemError itemError(Kind kind, String message) {
    return ItemError.newBuilder().setCode(kind.name()).setMessage(message)
        .setStatusCode(ErrorMappingInterceptor.code(kind).value())
        .setReason(kind.name()).build();
  }

  private static dev.keywarden.jwt.JwtAlgorithm algorithm(JwtAlgorithm a) {
    return switch (a) {
      case JWT_ALGORITHM_ES256 -> dev.keywarden.jwt.JwtAlgorithm.ES256;
      case JWT_ALGORITHM_ES384 -> dev.keywarden.jwt.JwtAlgorithm.ES384;
      case JWT_ALGORITHM_EDDSA -> dev.keywarden.jwt.JwtAlgorithm.EDDSA;
      case JWT_ALGORITHM_RS256 -> dev.keywarden.jwt.JwtAlgorithm.RS256;
      case JWT_ALGORITHM_PS256 -> dev.keywarden.jwt.JwtAlgorithm.PS256;
      default -> throw KeywardenException.invalid("config.algorithm is missing: one of ES256, ES384, EdDSA, RS256,"
          + " PS256");
    };
  }

  private static JwtAlgorithm algorithm(dev.keywarden.jwt.JwtAlgorithm a) {
    return switch (a) {
      case ES256 -> JwtAlgorithm.JWT_ALGORITHM_ES256;
      case ES384 -> JwtAlgorithm.JWT_ALGORITHM_ES384;
      case EDDSA -> JwtAlgorithm.JWT_ALGORITHM_EDDSA;
      case RS256 -> JwtAlgorithm.JWT_ALGORITHM_RS256;
      case PS256 -> JwtAlgorithm.JWT_ALGORITHM_PS256;
    };
  }

  private static JwtKeyVersionState state(dev.keywarden.jwt.JwtVersionState s) {
    if (s == null) {
      return JwtKeyVersionState.JWT_KEY_VERSION_STATE_UNSPECIFIED;
    }
    return switch (s) {
      case PENDING -> JwtKeyVersionState.JWT_KEY_VERSION_STATE_PENDING;
      case ACTIVE -> JwtKeyVersionState.JWT_KEY_VERSION_STATE_ACTIVE;
      case VERIFY_ONLY -> JwtKeyVersionState.JWT_KEY_VERSION_STATE_VERIFY_ONLY;
      case RETIRED -> JwtKeyVersionState.JWT_KEY_VERSION_STATE_RETIRED;
      case DESTROYED -> JwtKeyVersionState.JWT_KEY_VERSION_STATE_DESTROYED;
    };
  }

  private static Duration optional(boolean has, com.google.protobuf.Duration d, String field) {
    return has ? duration(d, field) : null;
  }

  private static Duration duration(com.google.protobuf.Duration d, String field) {
    if (!Durations.isValid(d) || d.getSeconds() < 0 || d.getNanos() != 0) {
      throw KeywardenException.invalid(field + " must be a whole number of seconds, not negative");
    }
    return Duration.ofSeconds(d.getSeconds());
  }

  private static com.google.protobuf.Duration duration(Duration d) {
    return Durations.fromSeconds(d.getSeconds());
  }

  private static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  private static JwtRotation rotation(RotationResult r) {
    return JwtRotation.newBuilder().setVersion(r.version()).setKid(r.kid()).setActiveFrom(timestamp(r.activeFrom()))
        .setNewVersion(r.newVersion()).setWarning(r.warning().orElse("")).build();
  }

  static JwtKey key(JwtKeyInfo k) {
    JwtKeySettings s = k.settings();
    JwtKeyConfig.Builder c = JwtKeyConfig.newBuilder().setName(s.name()).setAlgorithm(algorithm(s.algorithm()))
        .setRsaBits(s.rsaBits()).setSoftware(s.software()).setIssuer(s.issuer())
        .setPublishAhead(duration(s.publishAhead())).setMaxTokenTtl(duration(s.maxTokenTtl()))
        .setSkew(duration(s.skew()));
    s.rotationPeriod().ifPresent(p -> c.setRotationPeriod(duration(p)));
    JwtKey.Builder b = JwtKey.newBuilder().setConfig(c).setCreated(timestamp(k.createdAt()))
        .setActiveKid(k.activeKid().orElse("")).setJwksUri(s.jwksUri());
    for (JwtVersionInfo v : k.versions()) {
      JwtKeyVersion.Builder vb = JwtKeyVersion.newBuilder().setVersion(v.version()).setKid(v.kid())
          .setState(state(v.state())).setCreated(timestamp(v.createdAt())).setActiveFrom(timestamp(v.activeFrom()))
          .setSoftware(v.software()).setHsmLabel(v.hsmLabel().orElse(""));
      v.activeUntil().ifPresent(t -> vb.setActiveUntil(timestamp(t)));
      v.signedUntil().ifPresent(t -> vb.setSignedUntil(timestamp(t)));
      v.verifiableUntil().ifPresent(t -> vb.setVerifiableUntil(timestamp(t)));
      v.retiredAt().ifPresent(t -> vb.setRetiredAt(timestamp(t)));
      v.revokedAt().ifPresent(t -> vb.setRevokedAt(timestamp(t)));
      v.destroyedAt().ifPresent(t -> vb.setDestroyedAt(timestamp(t)));
      b.addVersions(vb);
    }
    return b.build();
  }

  static JwtRole fromProto(JwtSigningRole p) {
    Map<String, List<String>> claims = new LinkedHashMap<>();
    p.getAllowedClaimsMap().forEach((name, globs) -> claims.put(name, globs.getGlobsList()));
    return new JwtRole(p.getName(), p.getKey(), p.getAllowedAudiencesList(),
        p.getSubjectTemplate().isEmpty() ? null : p.getSubjectTemplate(), p.getAllowedSubjectsList(), claims,
        optional(p.hasMaxTtl(), p.getMaxTtl(), "max_ttl"), p.getAllowFutureNbf());
  }

  static JwtSigningRole toProto(JwtRole r) {
    JwtSigningRole.Builder b = JwtSigningRole.newBuilder().setName(r.name()).setKey(r.key())
        .addAllAllowedAudiences(r.allowedAudiences()).setSubjectTemplate(r.subjectTemplate())
        .addAllAllowedSubjects(r.allowedSubjects()).setMaxTtl(duration(r.maxTtl()))
        .setAllowFutureNbf(r.allowFutureNbf());
    r.allowedClaims().forEach((name, globs) -> b.putAllowedClaims(name, JwtClaimGlobs.newBuilder()
        .addAllGlobs(globs).build()));
    return b.build();
  }
}
