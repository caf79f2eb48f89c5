package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.*;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.auth.jwt.ClaimBinding;
import dev.keywarden.server.auth.jwt.JwtAuth;
import dev.keywarden.server.auth.jwt.JwtRoleRecords;
import dev.keywarden.server.gate.Check;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import dev.keywarden.unseal.Core;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * gRPC JwtAuthService. Resources `auth/jwt/roles/NAME` (create/update, read, delete) and `auth/jwt/roles` (list).
 * Login is open in the table (the JWT is the credential) and checks here that the server is unsealed.
 */
@Singleton
public final class JwtAuthGrpcService implements JwtAuthServiceGrpc.AsyncService, GuardedService {
  private static final Map<JwtAlgorithm, String> ALGORITHMS = Map.of(JwtAlgorithm.JWT_ALGORITHM_ES256, "ES256",
      JwtAlgorithm.JWT_ALGORITHM_ES384, "ES384", JwtAlgorithm.JWT_ALGORITHM_EDDSA, "EdDSA",
      JwtAlgorithm.JWT_ALGORITHM_RS256, "RS256", JwtAlgorithm.JWT_ALGORITHM_PS256, "PS256");
  private final JwtAuth jwt;
  private final Core core;
  private final dev.keywarden.server.gate.Gate gate;

  public JwtAuthGrpcService(JwtAuth jwt, Core core, dev.keywarden.server.gate.Gate gate) {
    this.jwt = jwt;
    this.core = core;
    this.gate = gate;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(JwtAuthServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(JwtAuthServiceGrpc.getServiceDescriptor())
        // Callers with neither right are refused before storage is read (a denial never tells whether the role
        // exists); then the one the write needs.
        .checks(JwtAuthServiceGrpc.getWriteJwtRoleMethod(), Check.anyOf(r -> role(r.getName()), "create", "update"),
            Check.chosen(r -> role(r.getName()), r -> jwt.exists(r.getName()) ? "update" : "create",
                Set.of("create", "update")))
        .allow(JwtAuthServiceGrpc.getGetJwtRoleMethod(), r -> role(r.getName()), "read")
        .allow(JwtAuthServiceGrpc.getListJwtRolesMethod(), r -> "auth/jwt/roles", "list")
        .allow(JwtAuthServiceGrpc.getDeleteJwtRoleMethod(), r -> role(r.getName()), "delete")
        .open(JwtAuthServiceGrpc.getLoginMethod())
        .build();
  }

  /** {@code auth/jwt/roles/NAME}, once NAME is a valid role name. */
  private static String role(String name) {
    return "auth/jwt/roles/" + JwtRoleRecords.checkName(name);
  }

  @Override
  public void writeJwtRole(WriteJwtRoleRequest r, StreamObserver<WriteJwtRoleResponse> out) {
    if (!r.hasRole()) {
      throw KeywardenException.invalid("role is required");
    }
    dev.keywarden.server.auth.jwt.JwtRole written = jwt.write(r.getName(), fromProto(r.getRole()));
    reply(out, WriteJwtRoleResponse.newBuilder().setRole(toProto(written)).build());
  }

  @Override
  public void getJwtRole(GetJwtRoleRequest r, StreamObserver<GetJwtRoleResponse> out) {
    reply(out, GetJwtRoleResponse.newBuilder().setName(r.getName()).setRole(toProto(jwt.read(r.getName()))).build());
  }

  @Override
  public void listJwtRoles(ListJwtRolesRequest r, StreamObserver<ListJwtRolesResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    List<String> page = jwt.list(r.getAfter(), limit);
    reply(out, ListJwtRolesResponse.newBuilder().addAllNames(page).setNextAfter(ListPages.nextAfter(page, limit))
        .build());
  }

  @Override
  public void deleteJwtRole(DeleteJwtRoleRequest r, StreamObserver<DeleteJwtRoleResponse> out) {
    jwt.delete(r.getName());
    reply(out, DeleteJwtRoleResponse.getDefaultInstance());
  }

  @Override
  public void login(JwtAuthServiceLoginRequest r, StreamObserver<JwtAuthServiceLoginResponse> out) {
    core.unsealed();
    TokenStore.Issued issued = jwt.login(r.getRole(), r.getJwt());
    reply(out, JwtAuthServiceLoginResponse.newBuilder().setToken(issued.token())
        .setInfo(TokenGrpcService.info(issued.record())).build());
  }

  static dev.keywarden.server.auth.jwt.JwtRole fromProto(JwtRole p) {
    List<String> algorithms = new ArrayList<>();
    for (int i = 0; i < p.getAllowedAlgorithmsCount(); i++) {
      String name = ALGORITHMS.get(p.getAllowedAlgorithms(i));
      if (name == null) {
        throw KeywardenException.invalid("allowed_algorithms[" + i + "] is not one of ES256, ES384, EDDSA, RS256,"
            + " PS256 (\"none\" and HMAC algorithms are never accepted)");
      }
      algorithms.add(name);
    }
    List<ClaimBinding> claims = new ArrayList<>();
    p.getBoundClaimsList().forEach(c -> claims.add(new ClaimBinding(c.getPath(), c.getValuesList())));
    return new dev.keywarden.server.auth.jwt.JwtRole(p.getIssuer(), p.getJwksUrl(), p.getOidcDiscoveryUrl(),
        p.getStaticKeys().getJwks(), p.getStaticKeys().getPublicKeyPemsList(), p.getJwksCaPem(),
        p.getBoundAudiencesList(), p.getBoundSubject(), claims, algorithms,
        p.hasClockSkew() ? seconds(p.getClockSkew(), "clock_skew") : 0, p.getPoliciesList(),
        p.hasTokenTtl() ? seconds(p.getTokenTtl(), "token_ttl") : 0, p.getTokenOutlivesJwt());
  }

  static JwtRole toProto(dev.keywarden.server.auth.jwt.JwtRole role) {
    JwtRole.Builder b = JwtRole.newBuilder().setIssuer(role.issuer())
        .addAllBoundAudiences(role.boundAudiences())
        .setBoundSubject(role.boundSubject() == null ? "" : role.boundSubject())
        .setClockSkew(Durations.fromSeconds(role.clockSkewSeconds()))
        .addAllPolicies(role.policies())
        .setTokenTtl(Durations.fromSeconds(role.tokenTtlSeconds()))
        .setTokenOutlivesJwt(role.tokenOutlivesJwt());
    if (role.jwksUrl() != null) {
      b.setJwksUrl(role.jwksUrl());
    } else if (role.oidcDiscoveryUrl() != null) {
      b.setOidcDiscoveryUrl(role.oidcDiscoveryUrl());
    } else {
      b.setStaticKeys(StaticKeys.newBuilder().setJwks(role.staticJwks() == null ? "" : role.staticJwks())
          .addAllPublicKeyPems(role.staticPems()));
    }
    if (role.jwksCaPem() != null) {
      b.setJwksCaPem(role.jwksCaPem());
    }
    role.boundClaims().forEach(c -> b.addBoundClaims(BoundClaim.newBuilder().setPath(c.path())
        .addAllValues(c.values())));
    for (String a : role.allowedAlgorithms()) {
      ALGORITHMS.forEach((e, name) -> {
        if (name.equals(a)) {
          b.addAllowedAlgorithms(e);
        }
      });
    }
    return b.build();
  }

  private static long seconds(com.google.protobuf.Duration d, String field) {
    if (!Durations.isValid(d) || d.getSeconds() <= 0 || d.getNanos() != 0) {
      throw KeywardenException.invalid(field + " must be a positive whole number of seconds");
    }
    return d.getSeconds();
  }
}
