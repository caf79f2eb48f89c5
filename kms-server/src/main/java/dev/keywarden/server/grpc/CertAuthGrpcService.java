package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.CertAuthServiceGrpc;
import dev.keywarden.api.v1.CertAuthServiceLoginRequest;
import dev.keywarden.api.v1.CertAuthServiceLoginResponse;
import dev.keywarden.api.v1.CertRole;
import dev.keywarden.api.v1.DeleteCertRoleRequest;
import dev.keywarden.api.v1.DeleteCertRoleResponse;
import dev.keywarden.api.v1.GetCertRoleRequest;
import dev.keywarden.api.v1.GetCertRoleResponse;
import dev.keywarden.api.v1.ListCertRolesRequest;
import dev.keywarden.api.v1.ListCertRolesResponse;
import dev.keywarden.api.v1.WriteCertRoleRequest;
import dev.keywarden.api.v1.WriteCertRoleResponse;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.pki.Role;
import dev.keywarden.server.auth.AccessControl;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.auth.cert.CertAuthenticator;
import dev.keywarden.server.auth.cert.CertRoleRecords;
import dev.keywarden.server.gate.Check;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import dev.keywarden.unseal.Core;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * gRPC CertAuthService: cert roles under `auth/cert/roles/NAME` (create, update, read, delete) and `auth/cert/roles`
 * (list); Login is open in the table (the TLS client certificate is the credential) and checks unsealed itself.
 */
@Singleton
public final class CertAuthGrpcService implements CertAuthServiceGrpc.AsyncService, GuardedService {
  private static final String ROLES = "auth/cert/roles";
  private final CertRoleRecords roles;
  private final CertAuthenticator authenticator;
  private final TokenStore tokens;
  private final AccessControl access;
  private final PkiEngine pki;
  private final Core core;
  private final Gate gate;

  public CertAuthGrpcService(CertRoleRecords roles, CertAuthenticator authenticator, TokenStore tokens,
      AccessControl access, PkiEngine pki, Core core, Gate gate) {
    this.roles = roles;
    this.authenticator = authenticator;
    this.tokens = tokens;
    this.access = access;
    this.pki = pki;
    this.core = core;
    this.gate = gate;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(CertAuthServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(CertAuthServiceGrpc.getServiceDescriptor())
        // As PKI roles: refused before storage is read unless the caller has one of the rights, then the right the
        // write needs (create for a new role, update for an existing one).
        .checks(CertAuthServiceGrpc.getWriteCertRoleMethod(),
            Check.anyOf(r -> role(r.getRole().getName()), "create", "update"),
            Check.chosen(r -> role(r.getRole().getName()),
                r -> roles.find(r.getRole().getName()).isPresent() ? "update" : "create", Set.of("create", "update")))
        .allow(CertAuthServiceGrpc.getGetCertRoleMethod(), r -> role(r.getName()), "read")
        .allow(CertAuthServiceGrpc.getListCertRolesMethod(), r -> ROLES, "list")
        .allow(CertAuthServiceGrpc.getDeleteCertRoleMethod(), r -> role(r.getName()), "delete")
        .open(CertAuthServiceGrpc.getLoginMethod())
        .build();
  }

  /** {@code auth/cert/roles/NAME}, once NAME is a valid role name. */
  private static String role(String name) {
    return ROLES + "/" + Role.checkName(name);
  }

  @Override
  public void writeCertRole(WriteCertRoleRequest r, StreamObserver<WriteCertRoleResponse> out) {
    dev.keywarden.server.auth.cert.CertRole role = fromProto(r.getRole());
    access.checkGrantable(Gate.caller(), role.policies());
    role.trustedIssuerIds().forEach(pki::issuer); // NOT_FOUND names how to list the issuers
    roles.write(role);
    reply(out, WriteCertRoleResponse.newBuilder().setRole(toProto(role)).build());
  }

  @Override
  public void getCertRole(GetCertRoleRequest r, StreamObserver<GetCertRoleResponse> out) {
    reply(out, GetCertRoleResponse.newBuilder().setRole(toProto(roles.read(r.getName()))).build());
  }

  @Override
  public void listCertRoles(ListCertRolesRequest r, StreamObserver<ListCertRolesResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    List<String> page = roles.list(r.getAfter(), limit);
    reply(out, ListCertRolesResponse.newBuilder().addAllNames(page).setNextAfter(ListPages.nextAfter(page, limit))
        .build());
  }

  @Override
  public void deleteCertRole(DeleteCertRoleRequest r, StreamObserver<DeleteCertRoleResponse> out) {
    roles.delete(r.getName());
    reply(out, DeleteCertRoleResponse.getDefaultInstance());
  }

  @Override
  public void login(CertAuthServiceLoginRequest r, StreamObserver<CertAuthServiceLoginResponse> out) {
    core.unsealed();
    if (r.getRole().isEmpty()) {
      throw KeywardenException.invalid("role: name the cert role to log in with");
    }
    Role.checkName(r.getRole());
    CertAuthenticator.Verdict v = authenticator.login(Gate.credentials(), r.getRole());
    Duration ttl = v.role().tokenTtl();
    long left = v.notAfter() - System.currentTimeMillis();
    if (left < ttl.toMillis()) {
      ttl = Duration.ofMillis(Math.max(left, 1)); // a login token never outlives its certificate
    }
    TokenStore.Issued issued = tokens.create(v.role().policies(), ttl, "cert:" + v.role().name(), null,
        Map.of("auth_method", "cert", "role", v.role().name(), "serial", v.serial(),
            "common_name", v.commonName()));
    reply(out, CertAuthServiceLoginResponse.newBuilder().setToken(issued.token())
        .setInfo(TokenGrpcService.info(issued.record())).build());
  }

  static dev.keywarden.server.auth.cert.CertRole fromProto(CertRole p) {
    Duration ttl = null;
    if (p.hasTokenTtl()) {
      if (!Durations.isValid(p.getTokenTtl())) {
        throw KeywardenException.invalid("role.token_ttl is not a valid duration");
      }
      ttl = Duration.ofMillis(Durations.toMillis(p.getTokenTtl()));
      if (ttl.isZero() || ttl.isNegative()) {
        throw KeywardenException.invalid("role.token_ttl must be positive");
      }
    }
    return new dev.keywarden.server.auth.cert.CertRole(p.getName(), p.getTrustedIssuerIdsList(),
        p.getTrustedCaPemsList(), p.getAllowedCommonNamesList(), p.getAllowedDnsSansList(),
        p.getAllowedUriSansList(), p.getPoliciesList(), ttl);
  }

  static CertRole toProto(dev.keywarden.server.auth.cert.CertRole r) {
    return CertRole.newBuilder().setName(r.name()).addAllTrustedIssuerIds(r.trustedIssuerIds())
        .addAllTrustedCaPems(r.trustedCaPems()).addAllAllowedCommonNames(r.allowedCommonNames())
        .addAllAllowedDnsSans(r.allowedDnsSans()).addAllAllowedUriSans(r.allowedUriSans())
        .addAllPolicies(r.policies()).setTokenTtl(Durations.fromMillis(r.tokenTtl().toMillis())).build();
  }
}
