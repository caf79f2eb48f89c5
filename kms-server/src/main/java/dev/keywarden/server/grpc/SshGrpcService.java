package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.*;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.server.auth.Caller;
import dev.keywarden.server.gate.Check;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import dev.keywarden.ssh.CertType;
import dev.keywarden.ssh.IssueRequest;
import dev.keywarden.ssh.IssuedSshKey;
import dev.keywarden.ssh.SignRequest;
import dev.keywarden.ssh.SignedSshCertificate;
import dev.keywarden.ssh.SshCaInfo;
import dev.keywarden.ssh.SshCaKey;
import dev.keywarden.ssh.SshCertificateRecord;
import dev.keywarden.ssh.SshEngine;
import dev.keywarden.ssh.SshIdentity;
import dev.keywarden.ssh.SshRole;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * gRPC SshService: the gate authorizes `ssh/cas[/NAME]`, `ssh/roles/NAME` or `ssh/certs[/SERIAL]` from the table
 * below; each handler validates, calls the engine and shapes the result. The caller's identity at the gate (its
 * display name and metadata) fills the roles' {{identity}} templates.
 */
@Singleton
public final class SshGrpcService implements SshServiceGrpc.AsyncService, GuardedService {
  private static final String CAS = "ssh/cas";
  private static final String CERTS = "ssh/certs";
  private static final Pattern CA_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
  private final SshEngine engine;
  private final Gate gate;

  public SshGrpcService(SshEngine engine, Gate gate) {
    this.engine = engine;
    this.gate = gate;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(SshServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(SshServiceGrpc.getServiceDescriptor())
        .allow(SshServiceGrpc.getCreateSshCaMethod(), r -> CAS, "create")
        .allow(SshServiceGrpc.getRotateSshCaMethod(), r -> ca(r.getName(), "name"), "update")
        .allow(SshServiceGrpc.getGetSshCaMethod(), r -> ca(r.getName(), "name"), "read")
        .allow(SshServiceGrpc.getListSshCasMethod(), r -> CAS, "list")
        .allow(SshServiceGrpc.getSetDefaultSshCaMethod(), r -> CAS, "update")
        .allow(SshServiceGrpc.getGetSshCaKeysMethod(), r -> ca(r.getName(), "name"), "read")
        .allow(SshServiceGrpc.getGetSshKrlMethod(), r -> ca(r.getName(), "name"), "read")
        // Callers with neither right are refused before storage is read, so a denial never tells whether the role
        // exists; then the one the write needs: create for a new role, update for an existing one.
        .checks(SshServiceGrpc.getWriteSshRoleMethod(),
            Check.anyOf(r -> role(r.getRole().getName(), "role.name"), "create", "update"),
            Check.chosen(r -> role(r.getRole().getName(), "role.name"),
                r -> engine.roleExists(r.getRole().getName()) ? "update" : "create",
                Set.of("create", "update")))
        .allow(SshServiceGrpc.getGetSshRoleMethod(), r -> role(r.getName(), "name"), "read")
        .allow(SshServiceGrpc.getListSshRolesMethod(), r -> "ssh/roles", "list")
        .allow(SshServiceGrpc.getDeleteSshRoleMethod(), r -> role(r.getName(), "name"), "delete")
        .allow(SshServiceGrpc.getSignSshKeyMethod(), r -> role(r.getRole(), "role"), "sign")
        .allow(SshServiceGrpc.getIssueSshKeyMethod(), r -> role(r.getRole(), "role"), "issue")
        .allow(SshServiceGrpc.getRevokeSshCertificateMethod(), r -> cert(r.getSerial()), "revoke")
        .allow(SshServiceGrpc.getRevokeSshKeyIdMethod(), r -> ca(r.getCa(), "ca"), "revoke")
        .allow(SshServiceGrpc.getGetSshCertificateMethod(), r -> cert(r.getSerial()), "read")
        .allow(SshServiceGrpc.getListSshCertificatesMethod(), r -> CERTS, "list")
        .allow(SshServiceGrpc.getTidySshMethod(), r -> CERTS, "delete")
        .build();
  }

  /** {@code ssh/roles/NAME}, once NAME is a valid role name. */
  private static String role(String name) {
    return "ssh/roles/" + SshRole.checkName(name);
  }

  /** As {@link #role(String)}, blaming the request's {@code field} when the name is not one. */
  private static String role(String name, String field) {
    try {
      return role(name);
    } catch (KeywardenException e) {
      throw e.withField(field);
    }
  }

  /** {@code ssh/cas/NAME}, once NAME is a well-formed CA name (so no pattern in a policy can be steered by it). */
  private static String ca(String name, String field) {
    if (!CA_NAME.matcher(name).matches()) {
      throw KeywardenException.invalidField(field,
          field + ": a CA name is 1 to 64 letters, digits, '_' or '-', starting with a"
          + " letter or digit; list the CAs to see theirs");
    }
    return "ssh/cas/" + name;
  }

  /** {@code ssh/certs/SERIAL} with the serial in its canonical (decimal) form. */
  private static String cert(String serial) {
    return "ssh/certs/" + SshEngine.canonicalSerial(serial);
  }

  // ---- CAs ----

  @Override
  @SuppressWarnings("deprecation") // key_type: read for clients of the 0.1 API
  public void createSshCa(CreateSshCaRequest r, StreamObserver<CreateSshCaResponse> out) {
    ca(r.getName(), "name");
    if (r.getDefaultForCount() > 2) {
      throw KeywardenException.invalidField("default_for", "default_for: at most user and host");
    }
    SshCaInfo info = engine.createCa(r.getName(), keyType(r.getKeyType(), r.getKeyPairType()).orElse(null),
        Optional.empty());
    for (SshCertType t : r.getDefaultForList()) {
      engine.setDefaultCa(certType(t, "default_for"), r.getName());
    }
    if (r.getDefaultForCount() > 0) {
      info = engine.ca(r.getName());
    }
    reply(out, CreateSshCaResponse.newBuilder().setCa(ca(info)).build());
  }

  @Override
  @SuppressWarnings("deprecation") // key_type: read for clients of the 0.1 API
  public void rotateSshCa(RotateSshCaRequest r, StreamObserver<RotateSshCaResponse> out) {
    SshCaInfo info = engine.rotateCa(r.getName(), keyType(r.getKeyType(), r.getKeyPairType()));
    reply(out, RotateSshCaResponse.newBuilder().setCa(ca(info)).build());
  }

  @Override
  public void getSshCa(GetSshCaRequest r, StreamObserver<GetSshCaResponse> out) {
    reply(out, GetSshCaResponse.newBuilder().setCa(ca(engine.ca(r.getName()))).build());
  }

  @Override
  public void listSshCas(ListSshCasRequest r, StreamObserver<ListSshCasResponse> out) {
    ListSshCasResponse.Builder b = ListSshCasResponse.newBuilder();
    engine.cas().forEach(c -> b.addCas(ca(c)));
    reply(out, b.build());
  }

  @Override
  public void setDefaultSshCa(SetDefaultSshCaRequest r, StreamObserver<SetDefaultSshCaResponse> out) {
    ca(r.getName(), "name");
    engine.setDefaultCa(certType(r.getCertType(), "cert_type"), r.getName());
    reply(out, SetDefaultSshCaResponse.getDefaultInstance());
  }

  @Override
  public void getSshCaKeys(GetSshCaKeysRequest r, StreamObserver<GetSshCaKeysResponse> out) {
    String text = r.getKnownHosts()
        ? engine.knownHosts(r.getName(), r.getHostPattern().isEmpty() ? null : r.getHostPattern())
        : engine.trustedUserCaKeys(r.getName());
    reply(out, GetSshCaKeysResponse.newBuilder().setText(text).build());
  }

  @Override
  public void getSshKrl(GetSshKrlRequest r, StreamObserver<GetSshKrlResponse> out) {
    reply(out, GetSshKrlResponse.newBuilder().setKrl(ByteString.copyFrom(engine.krl(r.getName()))).build());
  }

  // ---- roles ----

  @Override
  public void writeSshRole(WriteSshRoleRequest r, StreamObserver<WriteSshRoleResponse> out) {
    if (!r.hasRole()) {
      throw KeywardenException.invalidField("role", "role is missing");
    }
    engine.writeRole(fromProto(r.getRole()));
    reply(out, WriteSshRoleResponse.newBuilder().setRole(toProto(engine.role(r.getRole().getName()))).build());
  }

  @Override
  public void getSshRole(GetSshRoleRequest r, StreamObserver<GetSshRoleResponse> out) {
    reply(out, GetSshRoleResponse.newBuilder().setRole(toProto(engine.role(r.getName()))).build());
  }

  @Override
  public void listSshRoles(ListSshRolesRequest r, StreamObserver<ListSshRolesResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    List<String> page = engine.listRoles(r.getAfter(), limit);
    reply(out, ListSshRolesResponse.newBuilder().addAllNames(page).setNextAfter(ListPages.nextAfter(page, limit))
        .build());
  }

  @Override
  public void deleteSshRole(DeleteSshRoleRequest r, StreamObserver<DeleteSshRoleResponse> out) {
    engine.deleteRole(r.getName());
    reply(out, DeleteSshRoleResponse.getDefaultInstance());
  }

  // ---- certificates ----

  @Override
  public void signSshKey(SignSshKeyRequest r, StreamObserver<SignSshKeyResponse> out) {
    if (r.getPublicKey().isBlank()) {
      throw KeywardenException.invalidField("public_key",
          "public_key is missing: give one OpenSSH public key line (e.g. the contents"
          + " of ~/.ssh/id_ed25519.pub)");
    }
    SignedSshCertificate c = engine.sign(r.getRole(), identity(), new SignRequest(r.getPublicKey(),
        r.getPrincipalsList(), ttl(r.hasTtl(), r.getTtl()), text(r.getKeyId()), r.getExtensionsMap(),
        r.getCriticalOptionsMap(), Optional.empty()));
    reply(out, SignSshKeyResponse.newBuilder().setCertificate(certificate(c)).build());
  }

  @Override
  @SuppressWarnings("deprecation") // key_type: read for clients of the 0.1 API
  public void issueSshKey(IssueSshKeyRequest r, StreamObserver<IssueSshKeyResponse> out) {
    IssuedSshKey k = engine.issue(r.getRole(), identity(), new IssueRequest(
        keyType(r.getKeyType(), r.getKeyPairType()), r.getPrincipalsList(), ttl(r.hasTtl(), r.getTtl()),
        text(r.getKeyId()), r.getExtensionsMap(), r.getCriticalOptionsMap(), Optional.empty()));
    reply(out, IssueSshKeyResponse.newBuilder().setCertificate(certificate(k.certificate()))
        .setPrivateKey(k.privateKeyOpenSsh()).setPublicKey(k.publicKey()).build());
  }

  @Override
  public void revokeSshCertificate(RevokeSshCertificateRequest r, StreamObserver<RevokeSshCertificateResponse> out) {
    SshCertificateRecord c = engine.revoke(r.getSerial());
    reply(out, RevokeSshCertificateResponse.newBuilder().setCertificate(certificate(c)).build());
  }

  @Override
  public void revokeSshKeyId(RevokeSshKeyIdRequest r, StreamObserver<RevokeSshKeyIdResponse> out) {
    if (r.getKeyId().isEmpty()) {
      throw KeywardenException.invalidField("key_id", "key_id is missing");
    }
    RevokeSshKeyIdResponse.Builder b = RevokeSshKeyIdResponse.newBuilder();
    engine.revokeKeyId(r.getCa(), r.getKeyId()).forEach(c -> b.addCertificates(certificate(c)));
    reply(out, b.build());
  }

  @Override
  public void getSshCertificate(GetSshCertificateRequest r, StreamObserver<GetSshCertificateResponse> out) {
    reply(out, GetSshCertificateResponse.newBuilder().setCertificate(certificate(engine.certificate(r.getSerial())))
        .build());
  }

  @Override
  public void listSshCertificates(ListSshCertificatesRequest r, StreamObserver<ListSshCertificatesResponse> out) {
    int limit = ListPages.limit(r.getLimit());
    List<String> page = engine.listCertificates(r.getAfter(), limit);
    reply(out, ListSshCertificatesResponse.newBuilder().addAllSerials(page)
        .setNextAfter(ListPages.nextAfter(page, limit)).build());
  }

  @Override
  public void tidySsh(TidySshRequest r, StreamObserver<TidySshResponse> out) {
    dev.keywarden.ssh.Tidied t = engine.tidy(Instant.now(), r.getReindex());
    reply(out, TidySshResponse.newBuilder().setCertificatesRemoved(t.certificates())
        .setRevocationsRemoved(t.revocations()).addAllCaKeysRemoved(t.caKeysRemoved()).build());
  }

  // ---- mapping ----

  private static SshIdentity identity() {
    Caller c = Gate.caller();
    return new SshIdentity(c.displayName(), c.metadata());
  }

  /** The key type a request names in key_pair_type or the deprecated key_type; empty when neither is set. */
  private static Optional<KeyType> keyType(String name, KeyPairType value) {
    return ApiEnums.KEY_PAIR_TYPE.either(name, "key_type", value, "key_pair_type");
  }

  private static CertType certType(SshCertType t, String field) {
    return switch (t) {
      case SSH_CERT_TYPE_USER -> CertType.USER;
      case SSH_CERT_TYPE_HOST -> CertType.HOST;
      default -> throw KeywardenException.invalidField(field, field + ": user or host");
    };
  }

  private static SshCertType certType(CertType t) {
    return t == CertType.USER ? SshCertType.SSH_CERT_TYPE_USER : SshCertType.SSH_CERT_TYPE_HOST;
  }

  private static Optional<String> text(String s) {
    return s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  private static Optional<Duration> ttl(boolean has, com.google.protobuf.Duration d) {
    return has ? Optional.of(duration(d, "ttl")) : Optional.empty();
  }

  private static Duration duration(com.google.protobuf.Duration d, String field) {
    if (!Durations.isValid(d) || d.getSeconds() < 0 || d.getNanos() != 0) {
      throw KeywardenException.invalidField(field, field + " must be a whole number of seconds, not negative");
    }
    return Duration.ofSeconds(d.getSeconds());
  }

  private static Duration optionalDuration(boolean has, com.google.protobuf.Duration d, String field) {
    return has ? duration(d, field) : null;
  }

  private static com.google.protobuf.Duration duration(Duration d) {
    return Durations.fromSeconds(d.getSeconds());
  }

  private static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  @SuppressWarnings("deprecation") // key_type: read for clients of the 0.1 API
  static SshRole fromProto(dev.keywarden.api.v1.SshRole p) {
    if (p.getCertType() == SshCertType.SSH_CERT_TYPE_UNSPECIFIED) {
      throw KeywardenException.invalidField("role.cert_type", "role '" + role(p.getName(), "role.name")
          .substring("ssh/roles/".length()) + "': cert_type is missing: user or host");
    }
    try {
      return role(p);
    } catch (KeywardenException e) {
      // The engine names a role field as the role's JSON does; in a request it is under role.
      throw e.field() == null || e.field().startsWith("role.") ? e : e.withField("role." + e.field());
    }
  }

  @SuppressWarnings("deprecation") // key_type: read for clients of the 0.1 API
  private static SshRole role(dev.keywarden.api.v1.SshRole p) {
    return new SshRole(p.getName(), certType(p.getCertType(), "role.cert_type"),
        p.getCa().isEmpty() ? null : p.getCa(),
        p.getAllowedPrincipalsList(), p.getDefaultPrincipalsList(), p.getAllowAnyPrincipal(),
        p.getAllowedDomainsList(), p.getAllowSubdomains(), p.getAllowBareDomains(), p.getAllowGlobDomains(),
        optionalDuration(p.hasTtl(), p.getTtl(), "role.ttl"),
        optionalDuration(p.hasMaxTtl(), p.getMaxTtl(), "role.max_ttl"),
        p.getAllowedExtensionsList(), p.getDefaultExtensionsMap(), p.getAllowedCriticalOptionsList(),
        p.getDefaultCriticalOptionsMap(), p.getAllowedUserKeyTypesList(), p.getMinRsaBits(),
        p.getKeyIdTemplate().isEmpty() ? null : p.getKeyIdTemplate(), p.getAllowUserKeyIds(),
        optionalDuration(p.hasNotBeforeDuration(), p.getNotBeforeDuration(), "role.not_before_duration"),
        p.getNoStore(),
        ApiEnums.KEY_PAIR_TYPE.either(p.getKeyType(), "role.key_type", p.getKeyPairType(), "role.key_pair_type")
            .orElse(null));
  }

  @SuppressWarnings("deprecation") // key_type: filled for clients of the 0.1 API
  static dev.keywarden.api.v1.SshRole toProto(SshRole r) {
    dev.keywarden.api.v1.SshRole.Builder b = dev.keywarden.api.v1.SshRole.newBuilder().setName(r.name())
        .setCertType(certType(r.certType())).setCa(r.ca() == null ? "" : r.ca())
        .addAllAllowedPrincipals(r.allowedPrincipals()).addAllDefaultPrincipals(r.defaultPrincipals())
        .setAllowAnyPrincipal(r.allowAnyPrincipal()).addAllAllowedDomains(r.allowedDomains())
        .setAllowSubdomains(r.allowSubdomains()).setAllowBareDomains(r.allowBareDomains())
        .setAllowGlobDomains(r.allowGlobDomains()).setTtl(duration(r.ttl())).setMaxTtl(duration(r.maxTtl()))
        .addAllAllowedExtensions(r.allowedExtensions()).putAllDefaultExtensions(r.defaultExtensions())
        .addAllAllowedCriticalOptions(r.allowedCriticalOptions())
        .putAllDefaultCriticalOptions(r.defaultCriticalOptions()).addAllAllowedUserKeyTypes(r.allowedUserKeyTypes())
        .setMinRsaBits(r.minRsaBits()).setKeyIdTemplate(r.keyIdTemplate()).setAllowUserKeyIds(r.allowUserKeyIds())
        .setNotBeforeDuration(duration(r.notBeforeDuration())).setNoStore(r.noStore())
        .setKeyType(r.keyType().typeName()).setKeyPairType(ApiEnums.KEY_PAIR_TYPE.proto(r.keyType()));
    return b.build();
  }

  @SuppressWarnings("deprecation") // key_type: filled for clients of the 0.1 API
  private static SshCa ca(SshCaInfo info) {
    SshCa.Builder b = SshCa.newBuilder().setName(info.name());
    for (SshCaKey k : info.keys()) {
      dev.keywarden.api.v1.SshCaKey.Builder kb = dev.keywarden.api.v1.SshCaKey.newBuilder().setId(k.id())
          .setKeyType(k.keyType().typeName()).setKeyPairType(ApiEnums.KEY_PAIR_TYPE.proto(k.keyType()))
          .setPublicKey(k.publicKey()).setFingerprint(k.fingerprint())
          .setCreated(timestamp(k.created()));
      if (k.retiredAt() != null) {
        kb.setRetiredAt(timestamp(k.retiredAt()));
      }
      if (k.signedUntil() != null) {
        kb.setSignedUntil(timestamp(k.signedUntil()));
      }
      b.addKeys(kb);
    }
    info.defaultFor().stream().sorted().forEach(t -> b.addDefaultFor(certType(t)));
    return b.build();
  }

  private static SshCertificate certificate(SignedSshCertificate c) {
    return SshCertificate.newBuilder().setSerial(c.serial()).setCa(c.caName()).setCertificate(c.certificate())
        .setValidAfter(timestamp(c.validAfter())).setValidBefore(timestamp(c.validBefore()))
        .addAllPrincipals(c.principals()).setKeyId(c.keyId()).setCertType(certType(c.type())).build();
  }

  private static SshCertificate certificate(SshCertificateRecord c) {
    SshCertificate.Builder b = SshCertificate.newBuilder().setSerial(c.serial()).setCa(c.caName())
        .setCertificate(c.certificate()).setValidAfter(timestamp(c.validAfter()))
        .setValidBefore(timestamp(c.validBefore())).addAllPrincipals(c.principals()).setKeyId(c.keyId())
        .setCertType(certType(c.type()));
    if (c.revokedAt() != null) {
      b.setRevokedAt(timestamp(c.revokedAt()));
    }
    return b.build();
  }
}
