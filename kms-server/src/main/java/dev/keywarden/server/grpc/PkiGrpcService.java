package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.*;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.pki.DeletedIssuer;
import dev.keywarden.pki.IssuedCertificate;
import dev.keywarden.pki.IssuedWithKey;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.pki.RequestedNames;
import dev.keywarden.pki.RevokedCertificate;
import dev.keywarden.pki.Role;
import dev.keywarden.server.gate.Check;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * gRPC PkiService: the gate authorizes `pki/issuers[/ID]`, `pki/roles/NAME` or `pki/certs[/SERIAL]` from the table
 * below; each handler validates, calls the engine and shapes the result.
 */
@Singleton
public final class PkiGrpcService implements PkiServiceGrpc.AsyncService, GuardedService {
  static final Duration ROOT_TTL = Duration.ofDays(3650);
  static final Duration INTERMEDIATE_TTL = Duration.ofDays(1825);
  /** SANs per Issue request, alt_names, ip_sans and uri_sans together (pki.proto says so at IssueRequest). */
  public static final int MAX_NAMES = 100;
  private static final Pattern IP_LITERAL = Pattern.compile("[0-9a-fA-F:.]+");
  private static final String ISSUERS = "pki/issuers";
  private static final String CERTS = "pki/certs";
  private final PkiEngine engine;
  private final Gate gate;

  private static final Pattern ISSUER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

  public PkiGrpcService(PkiEngine engine, Gate gate) {
    this.engine = engine;
    this.gate = gate;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(PkiServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(PkiServiceGrpc.getServiceDescriptor())
        .allow(PkiServiceGrpc.getGenerateRootMethod(), r -> ISSUERS, "create")
        .allow(PkiServiceGrpc.getGenerateIntermediateMethod(), r -> ISSUERS, "create")
        .allow(PkiServiceGrpc.getSetSignedIntermediateMethod(), r -> issuerResource(r.getIssuerId(), "issuer_id"),
            "update")
        .checks(PkiServiceGrpc.getRotateIssuerMethod(), Check.on(r -> ISSUERS, "create"),
            Check.on(r -> issuerResource(r.getIssuerId(), "issuer_id"), "update"))
        .allow(PkiServiceGrpc.getDeleteIssuerMethod(), r -> issuerResource(r.getId(), "id"), "delete")
        .allow(PkiServiceGrpc.getListIssuersMethod(), r -> ISSUERS, "list")
        .allow(PkiServiceGrpc.getGetIssuerMethod(), r -> issuerResource(r.getId(), "id"), "read")
        .allow(PkiServiceGrpc.getSetDefaultIssuerMethod(), r -> ISSUERS, "update")
        // Callers with neither right are refused before storage is read, so a denial never tells whether the role
        // exists; then the one the write needs: create for a new role, update for an existing one.
        .checks(PkiServiceGrpc.getWriteRoleMethod(), Check.anyOf(r -> role(r.getName(), "name"), "create", "update"),
            Check.chosen(r -> role(r.getName(), "name"),
                r -> engine.roleExists(r.getName()) ? "update" : "create",
                Set.of("create", "update")))
        .allow(PkiServiceGrpc.getGetRoleMethod(), r -> role(r.getName(), "name"), "read")
        .allow(PkiServiceGrpc.getListRolesMethod(), r -> "pki/roles", "list")
        .allow(PkiServiceGrpc.getDeleteRoleMethod(), r -> role(r.getName(), "name"), "delete")
        .allow(PkiServiceGrpc.getSignCsrMethod(), r -> role(r.getRole(), "role"), "sign")
        .allow(PkiServiceGrpc.getIssueMethod(), r -> role(r.getRole(), "role"), "issue")
        .allow(PkiServiceGrpc.getGetCertificateMethod(), r -> certResource(r.getSerial()), "read")
        .allow(PkiServiceGrpc.getListCertificatesMethod(), r -> CERTS, "list")
        .allow(PkiServiceGrpc.getRevokeMethod(), r -> certResource(r.getSerial()), "revoke")
        .allow(PkiServiceGrpc.getListRevokedMethod(), r -> CERTS, "list")
        .allow(PkiServiceGrpc.getTidyMethod(), r -> CERTS, "delete")
        .build();
  }

  /** {@code pki/roles/NAME}, once NAME (the request's {@code field}) is a valid role name. */
  private static String role(String name, String field) {
    try {
      return "pki/roles/" + Role.checkName(name);
    } catch (KeywardenException e) {
      throw e.withField(field);
    }
  }

  /** {@code pki/issuers/ID}, once ID is a well-formed issuer id (so no pattern in a policy can be steered by it). */
  private static String issuerResource(String id, String field) {
    if (!ISSUER_ID.matcher(id).matches()) {
      throw KeywardenException.invalidField(field,
          field + ": not an issuer id (1 to 64 letters, digits, '_' or '-'); list the"
          + " issuers to see theirs");
    }
    return "pki/issuers/" + id;
  }

  /** {@code pki/certs/SERIAL} with the serial in its canonical form, however the caller wrote it. */
  private static String certResource(String serial) {
    return "pki/certs/" + PkiEngine.canonicalSerial(serial);
  }

  // ---- issuers ----

  @Override
  public void generateRoot(GenerateRootRequest r, StreamObserver<GenerateRootResponse> out) {
    requireText(r.getCommonName(), "common_name");
    IssuerInfo i = engine.generateRoot(r.getCommonName(), keyType(r),
        r.hasTtl() ? duration(r.getTtl(), "ttl") : ROOT_TTL,
        r.getBaseUrl().isEmpty() ? Optional.empty() : Optional.of(r.getBaseUrl()));
    reply(out, GenerateRootResponse.newBuilder().setIssuer(issuer(i)).build());
  }

  @Override
  public void generateIntermediate(GenerateIntermediateRequest r, StreamObserver<GenerateIntermediateResponse> out) {
    requireText(r.getCommonName(), "common_name");
    if (r.getExternal()) {
      requireNoParentOrTtl(r);
    }
    IssuerInfo i = r.getExternal() ? externalIntermediate(r) : internalIntermediate(r);
    reply(out, GenerateIntermediateResponse.newBuilder().setIssuer(issuer(i)).setCsrPem(i.csrPem().orElse(""))
        .build());
  }

  private IssuerInfo internalIntermediate(GenerateIntermediateRequest r) {
    String parent = r.getParentIssuerId().isEmpty() ? defaultIssuerId() : r.getParentIssuerId();
    return engine.generateIntermediate(r.getCommonName(), keyType(r),
        r.hasTtl() ? duration(r.getTtl(), "ttl") : INTERMEDIATE_TTL, parent, optional(r.getBaseUrl()),
        r.getSetDefault());
  }

  private IssuerInfo externalIntermediate(GenerateIntermediateRequest r) {
    return engine.generateExternalIntermediate(r.getCommonName(), keyType(r), optional(r.getBaseUrl()),
        r.getSetDefault());
  }

  private static void requireNoParentOrTtl(GenerateIntermediateRequest r) {
    if (!r.getParentIssuerId().isEmpty()) {
      throw KeywardenException.invalidField("parent_issuer_id",
          "parent_issuer_id: an external intermediate is signed by a CA outside"
          + " Keywarden; leave parent_issuer_id empty");
    }
    if (r.hasTtl()) {
      throw KeywardenException.invalidField("ttl",
          "ttl: the external CA decides the lifetime of an external intermediate;"
          + " leave ttl unset");
    }
  }

  @Override
  public void setSignedIntermediate(SetSignedIntermediateRequest r,
      StreamObserver<SetSignedIntermediateResponse> out) {
    requireText(r.getIssuerId(), "issuer_id");
    requireText(r.getCertificatePem(), "certificate_pem");
    IssuerInfo i = engine.setSignedIntermediate(r.getIssuerId(), r.getCertificatePem(), r.getChainPemList());
    reply(out, SetSignedIntermediateResponse.newBuilder().setIssuer(issuer(i)).build());
  }

  @Override
  public void rotateIssuer(RotateIssuerRequest r, StreamObserver<RotateIssuerResponse> out) {
    requireText(r.getIssuerId(), "issuer_id");
    IssuerInfo next = engine.rotateIssuer(r.getIssuerId(), ttl(r.hasTtl(), r.getTtl()));
    reply(out, RotateIssuerResponse.newBuilder().setIssuer(issuer(next))
        .setPrevious(issuer(engine.issuer(r.getIssuerId()))).setCsrPem(next.csrPem().orElse("")).build());
  }

  @Override
  public void deleteIssuer(DeleteIssuerRequest r, StreamObserver<DeleteIssuerResponse> out) {
    requireText(r.getId(), "id");
    DeletedIssuer d = engine.deleteIssuer(r.getId());
    reply(out, DeleteIssuerResponse.newBuilder().setId(d.id()).setReplaces(d.replaces().orElse(""))
        .setKeyDestroyed(d.keyDestroyed()).setKeyNote(d.keyNote().orElse("")).build());
  }

  @Override
  public void listIssuers(ListIssuersRequest r, StreamObserver<ListIssuersResponse> out) {
    ListIssuersResponse.Builder b = ListIssuersResponse.newBuilder();
    engine.issuers().forEach(i -> b.addIssuers(issuer(i)));
    reply(out, b.build());
  }

  @Override
  public void getIssuer(GetIssuerRequest r, StreamObserver<GetIssuerResponse> out) {
    requireText(r.getId(), "id");
    reply(out, GetIssuerResponse.newBuilder().setIssuer(issuer(engine.issuer(r.getId()))).build());
  }

  @Override
  public void setDefaultIssuer(SetDefaultIssuerRequest r, StreamObserver<SetDefaultIssuerResponse> out) {
    requireText(r.getId(), "id");
    engine.setDefault(r.getId());
    reply(out, SetDefaultIssuerResponse.getDefaultInstance());
  }

  // ---- roles ----

  @Override
  @SuppressWarnings("deprecation") // role_json: read and filled for clients of the 0.1 API
  public void writeRole(WriteRoleRequest r, StreamObserver<WriteRoleResponse> out) {
    requireText(r.getName(), "name");
    boolean json = !r.getRoleJson().isEmpty();
    if (json && r.hasRole()) {
      throw KeywardenException.invalidField("role",
          "role and role_json are both set; set only role (role_json is deprecated)");
    }
    if (!json && !r.hasRole()) {
      throw KeywardenException.invalidField("role", "role is required (or the deprecated role_json)");
    }
    Role role = json ? roleFromJson(r.getRoleJson(), r.getName()) : PkiRoleMessages.fromProto(r.getRole(),
        r.getName());
    engine.writeRole(role);
    Role stored = engine.role(role.name());
    reply(out, WriteRoleResponse.newBuilder().setRole(PkiRoleMessages.toProto(stored)).setRoleJson(stored.toJson())
        .build());
  }

  /** A role_json's role; what is wrong with it is wrong with role_json (the message names the JSON field). */
  private static Role roleFromJson(String json, String name) {
    try {
      return Role.fromJson(json, name);
    } catch (KeywardenException e) {
      throw e.withField("role_json");
    }
  }

  @Override
  @SuppressWarnings("deprecation") // role_json: filled for clients of the 0.1 API
  public void getRole(GetRoleRequest r, StreamObserver<GetRoleResponse> out) {
    requireText(r.getName(), "name");
    Role role = engine.role(r.getName());
    reply(out, GetRoleResponse.newBuilder().setRole(PkiRoleMessages.toProto(role)).setRoleJson(role.toJson())
        .build());
  }

  @Override
  public void listRoles(ListRolesRequest r, StreamObserver<ListRolesResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    List<String> page = engine.listRoles(r.getAfter(), limit);
    reply(out, ListRolesResponse.newBuilder().addAllNames(page).setNextAfter(ListPages.nextAfter(page, limit))
        .build());
  }

  @Override
  public void deleteRole(DeleteRoleRequest r, StreamObserver<DeleteRoleResponse> out) {
    requireText(r.getName(), "name");
    engine.deleteRole(r.getName());
    reply(out, DeleteRoleResponse.getDefaultInstance());
  }

  // ---- certificates ----

  @Override
  public void signCsr(SignCsrRequest r, StreamObserver<SignCsrResponse> out) {
    requireText(r.getRole(), "role");
    requireText(r.getCsrPem(), "csr_pem");
    IssuedCertificate c = engine.signCsr(r.getRole(), r.getCsrPem().getBytes(StandardCharsets.US_ASCII),
        ttl(r.hasTtl(), r.getTtl()), optional(r.getIssuerId()));
    reply(out, SignCsrResponse.newBuilder().setCertificatePem(c.certificatePem()).addAllChainPem(chain(c))
        .setSerial(c.serialHex()).setIssuerId(c.issuerId()).setNotAfter(timestamp(c.notAfter())).build());
  }

  @Override
  @SuppressWarnings("deprecation") // key_type: filled for clients of the 0.1 API
  public void issue(IssueRequest r, StreamObserver<IssueResponse> out) {
    requireText(r.getRole(), "role");
    int names = r.getAltNamesCount() + r.getIpSansCount() + r.getUriSansCount();
    if (names > MAX_NAMES) {
      throw KeywardenException.invalidField("alt_names", "too many SANs: " + names + "; the limit is " + MAX_NAMES);
    }
    List<InetAddress> ips = new ArrayList<>();
    for (String ip : r.getIpSansList()) {
      ips.add(ip(ip));
    }
    List<URI> uris = new ArrayList<>();
    for (String u : r.getUriSansList()) {
      uris.add(uri(u));
    }
    IssuedWithKey k = engine.issue(r.getRole(), new RequestedNames(optional(r.getCommonName()),
        r.getAltNamesList(), ips, uris), ttl(r.hasTtl(), r.getTtl()), optional(r.getIssuerId()));
    IssuedCertificate c = k.certificate();
    reply(out, IssueResponse.newBuilder().setCertificatePem(c.certificatePem()).setPrivateKeyPem(k.privateKeyPem())
        .addAllChainPem(chain(c)).setSerial(c.serialHex()).setIssuerId(c.issuerId())
        .setNotAfter(timestamp(c.notAfter())).setKeyType(k.keyType().typeName())
        .setKeyPairType(ApiEnums.KEY_PAIR_TYPE.proto(k.keyType())).build());
  }

  @Override
  public void getCertificate(GetCertificateRequest r, StreamObserver<GetCertificateResponse> out) {
    requireText(r.getSerial(), "serial");
    IssuedCertificate c = engine.certificate(r.getSerial());
    GetCertificateResponse.Builder b = GetCertificateResponse.newBuilder().setCertificatePem(c.certificatePem())
        .addAllChainPem(chain(c)).setSerial(c.serialHex()).setIssuerId(c.issuerId())
        .setNotAfter(timestamp(c.notAfter()));
    engine.revocation(c.serialHex()).ifPresent(v -> b.setRevoked(true).setRevocation(revocation(v)));
    reply(out, b.build());
  }

  @Override
  public void listCertificates(ListCertificatesRequest r, StreamObserver<ListCertificatesResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    List<String> page = engine.listCertificates(r.getAfter(), limit);
    reply(out, ListCertificatesResponse.newBuilder().addAllSerials(page)
        .setNextAfter(ListPages.nextAfter(page, limit)).build());
  }

  @Override
  public void revoke(RevokeRequest r, StreamObserver<RevokeResponse> out) {
    requireText(r.getSerial(), "serial");
    RevokedCertificate v = engine.revoke(r.getSerial(), reasonCode(r));
    reply(out, RevokeResponse.newBuilder().setRevocationTime(Timestamp.newBuilder().setSeconds(v.revokedAt()))
        .setRevocation(revocation(v)).build());
  }

  @Override
  public void listRevoked(ListRevokedRequest r, StreamObserver<ListRevokedResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    String issuer = r.getIssuerId().isEmpty() ? defaultIssuerId() : r.getIssuerId();
    List<RevokedCertificate> page = engine.listRevoked(issuer, r.getAfter(), limit);
    ListRevokedResponse.Builder b = ListRevokedResponse.newBuilder();
    page.forEach(v -> b.addRevocations(revocation(v)));
    reply(out, b.setNextAfter(ListPages.nextAfter(page, limit, RevokedCertificate::serialHex)).build());
  }

  @Override
  public void tidy(TidyRequest r, StreamObserver<TidyResponse> out) {
    PkiEngine.Tidied t = engine.tidy(Instant.now());
    reply(out, TidyResponse.newBuilder().setCertificatesRemoved(t.certificates())
        .setRevocationsRemoved(t.revocations()).addAllIssuersRemoved(t.issuersRemoved()).build());
  }

  // ---- validation and shaping ----

  private String defaultIssuerId() {
    return engine.issuers().stream().filter(IssuerInfo::isDefault).map(IssuerInfo::id).findFirst()
        .orElseThrow(() -> KeywardenException.precondition("no issuer yet: generate a root issuer first"));
  }

  private static void requireText(String value, String field) {
    if (value.isEmpty()) {
      throw KeywardenException.invalidField(field, field + " is required");
    }
  }

  private static Optional<String> optional(String value) {
    return value.isEmpty() ? Optional.empty() : Optional.of(value);
  }

  @SuppressWarnings("deprecation") // key_type: read for clients of the 0.1 API
  private static KeyType keyType(GenerateRootRequest r) {
    return ApiEnums.KEY_PAIR_TYPE.either(r.getKeyType(), "key_type", r.getKeyPairType(), "key_pair_type")
        .orElse(KeyType.EC_P256);
  }

  @SuppressWarnings("deprecation") // key_type: read for clients of the 0.1 API
  private static KeyType keyType(GenerateIntermediateRequest r) {
    return ApiEnums.KEY_PAIR_TYPE.either(r.getKeyType(), "key_type", r.getKeyPairType(), "key_pair_type")
        .orElse(KeyType.EC_P256);
  }

  /** The RFC 5280 code a Revoke asks for, from crl_reason or the deprecated reason (they must agree when both set). */
  @SuppressWarnings("deprecation") // reason: read for clients of the 0.1 API
  private static int reasonCode(RevokeRequest r) {
    int code = r.getReason();
    if (r.getCrlReason() != RevocationReason.REVOCATION_REASON_UNSPECIFIED) {
      int chosen = ApiEnums.REVOCATION_REASON.engine(r.getCrlReason(), "crl_reason");
      if (code != 0 && code != chosen) {
        throw KeywardenException.invalidField("crl_reason", "reason (" + code + ") and crl_reason ("
            + r.getCrlReason().name() + ") disagree; set only crl_reason (reason is deprecated)");
      }
      return chosen;
    }
    if (code < 0 || code > 10 || code == 7) {
      throw KeywardenException.invalidField("reason", "reason: " + code + " is not an RFC 5280 CRLReason code"
          + " (0-6, 8-10); set crl_reason instead (reason is deprecated)");
    }
    return code;
  }

  private static Duration duration(com.google.protobuf.Duration d, String field) {
    if (!Durations.isValid(d) || d.getSeconds() <= 0 || d.getNanos() != 0) {
      throw KeywardenException.invalidField(field, field + " must be a positive whole number of seconds");
    }
    return Duration.ofSeconds(d.getSeconds());
  }

  private static Optional<Duration> ttl(boolean has, com.google.protobuf.Duration d) {
    return has ? Optional.of(duration(d, "ttl")) : Optional.empty();
  }

  private static InetAddress ip(String text) {
    // Only literals: InetAddress.getByName would otherwise resolve host names.
    if (text.isEmpty() || !IP_LITERAL.matcher(text).matches() || (!text.contains(":") && text.split("\\.").length != 4)) {
      throw KeywardenException.invalidField("ip_sans", "ip_sans: '" + Inputs.quoted(text) + "' is not an IP address");
    }
    try {
      return InetAddress.getByName(text);
    } catch (UnknownHostException e) {
      throw KeywardenException.invalidField("ip_sans", "ip_sans: '" + Inputs.quoted(text) + "' is not an IP address");
    }
  }

  private static URI uri(String text) {
    try {
      return new URI(text);
    } catch (URISyntaxException e) {
      throw KeywardenException.invalidField("uri_sans", "uri_sans: '" + Inputs.quoted(text) + "' is not a URI");
    }
  }

  private static List<String> chain(IssuedCertificate c) {
    return c.chainDer().stream().map(PkiGrpcService::pem).toList();
  }

  static String pem(byte[] der) {
    return "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END CERTIFICATE-----\n";
  }

  @SuppressWarnings("deprecation") // key_type: filled for clients of the 0.1 API
  static dev.keywarden.api.v1.Issuer issuer(IssuerInfo i) {
    dev.keywarden.api.v1.Issuer.Builder b = dev.keywarden.api.v1.Issuer.newBuilder().setId(i.id())
        .setState(state(i.state())).setSubject(i.subject()).setCertificatePem(i.certificatePem())
        .setKeyType(i.keyType().typeName()).setKeyPairType(ApiEnums.KEY_PAIR_TYPE.proto(i.keyType()))
        .setParentId(i.parentId().orElse("")).setExternal(i.external())
        .setBaseUrl(i.baseUrl().orElse("")).setIsDefault(i.isDefault()).setCsrPem(i.csrPem().orElse(""))
        .setReplaces(i.replaces().orElse("")).setReplacedBy(i.replacedBy().orElse(""));
    i.notAfter().ifPresent(t -> b.setNotAfter(timestamp(t)));
    i.issuedUntil().ifPresent(t -> b.setIssuedUntil(timestamp(t)));
    i.revokedAt().ifPresent(t -> b.setRevokedAt(timestamp(t)));
    return b.build();
  }

  private static IssuerState state(dev.keywarden.pki.IssuerState s) {
    return switch (s) {
      case PENDING -> IssuerState.ISSUER_STATE_PENDING;
      case ACTIVE -> IssuerState.ISSUER_STATE_ACTIVE;
      case RETIRED -> IssuerState.ISSUER_STATE_RETIRED;
    };
  }

  @SuppressWarnings("deprecation") // reason: filled for clients of the 0.1 API
  static Revocation revocation(RevokedCertificate v) {
    return Revocation.newBuilder().setSerial(v.serialHex()).setIssuerId(v.issuerId())
        .setRevocationTime(Timestamp.newBuilder().setSeconds(v.revokedAt())).setReason(v.reason())
        .setCrlReason(ApiEnums.REVOCATION_REASON.proto(v.reason()))
        .setNotAfter(Timestamp.newBuilder().setSeconds(v.notAfter())).build();
  }

  private static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }
}
