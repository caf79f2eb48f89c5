package dev.keywarden.server.auth.cert;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.CertAuthServiceGrpc;
import dev.keywarden.api.v1.CertAuthServiceLoginRequest;
import dev.keywarden.api.v1.CertAuthServiceLoginResponse;
import dev.keywarden.api.v1.CertRole;
import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.DecryptItem;
import dev.keywarden.api.v1.DecryptRequest;
import dev.keywarden.api.v1.DeleteCertRoleRequest;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.GetCertRoleRequest;
import dev.keywarden.api.v1.LookupTokenRequest;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.RevokeRequest;
import dev.keywarden.api.v1.TokenInfo;
import dev.keywarden.api.v1.TokenServiceGrpc;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.api.v1.WriteCertRoleRequest;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.pki.IssuedWithKey;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.RequestedNames;
import dev.keywarden.pki.Role;
import dev.keywarden.server.gate.LocalKeywarden;
import dev.keywarden.server.gate.OpenSsl;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cert auth with real clients: grpc-java over TLS presenting certificates from Keywarden's own PKI and from CAs made
 * by the openssl CLI, against the server's services, gate and TLS (client certificates asked for) in one JVM.
 */
class CertAuthTest {
  private static final String KEY = "app";

  @TempDir
  Path dir;
  LocalKeywarden kw;
  IssuerInfo root;

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir.resolve("kw"), 1L << 30, true);
    root = kw.pki.generateRoot("Cert Auth Test Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    kw.pki.writeRole(Role.builder("clients").allowedDomains("svc.internal").allowSubdomains(true).clientFlag(true)
        .allowedUriSans("spiffe://kw.test/*").build());
    kw.pki.writeRole(Role.builder("servers").allowedDomains("svc.internal").allowSubdomains(true).serverFlag(true)
        .build());
    kw.policies.write("app-crypto", "{\"rules\":[{\"resource\":\"transit/keys/app\","
        + "\"capabilities\":[\"encrypt\",\"decrypt\"]}]}");
    admin(TransitServiceGrpc.newBlockingStub(kw.channel)).createKey(CreateKeyRequest.newBuilder().setName(KEY)
        .setType("aes256-gcm96").build());
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  @Test
  void aKeywardenIssuedCertificateEncryptsAndDecryptsWithNoTokenUntilItIsRevoked() throws Exception {
    writeRole(role("billing").addTrustedIssuerIds(root.id()).addAllowedCommonNames("billing.svc.internal"));
    IssuedWithKey cert = issue("clients", "billing.svc.internal", "spiffe://kw.test/billing");
    ManagedChannel ch = kw.tlsChannel(cert.certificate().certificatePem(), cert.privateKeyPem());

    String ciphertext = encrypt(ch, "hello");
    assertEquals("hello", decrypt(ch, ciphertext));

    admin(PkiServiceGrpc.newBlockingStub(kw.channel)).revoke(RevokeRequest.newBuilder()
        .setSerial(cert.certificate().serialHex()).build());
    assertRefused(Status.Code.UNAUTHENTICATED, "was revoked", () -> encrypt(ch, "again"));
  }

  @Test
  void aRoleTrustingAnIssuerTrustsItsRotationSuccessorAndCertificatesUnderItsIntermediates() throws Exception {
    writeRole(role("billing").addTrustedIssuerIds(root.id()));
    IssuerInfo successor = kw.pki.rotateIssuer(root.id(), Optional.of(Duration.ofDays(30)));
    kw.pki.setDefault(successor.id());
    IssuedWithKey fromSuccessor = kw.pki.issue("clients", names("billing.svc.internal"), Optional.empty(),
        Optional.of(successor.id()));
    assertEquals("x", decrypt(chan(fromSuccessor), encrypt(chan(fromSuccessor), "x")));

    IssuerInfo intermediate = kw.pki.generateIntermediate("Issuing CA", KeyType.EC_P256, Duration.ofDays(10),
        root.id());
    IssuedWithKey fromIntermediate = kw.pki.issue("clients", names("billing.svc.internal"), Optional.empty(),
        Optional.of(intermediate.id()));
    ManagedChannel withChain = kw.tlsChannel(fromIntermediate.certificate().certificatePem()
        + intermediate.certificatePem(), fromIntermediate.privateKeyPem());
    assertEquals("y", decrypt(withChain, encrypt(withChain, "y")));
    // Another certificate of the intermediate, presented without it: nothing links it to the trusted root.
    IssuedWithKey alone = kw.pki.issue("clients", names("billing.svc.internal"), Optional.empty(),
        Optional.of(intermediate.id()));
    ManagedChannel leafOnly = chan(alone);
    assertRefused(Status.Code.UNAUTHENTICATED, "does not verify up to an issuer", () -> encrypt(leafOnly, "z"));
  }

  @Test
  void aRoleTrustingAnOpenSslCaAcceptsItsCertificatesAndRefusesAnotherCas() throws Exception {
    Path caA = opensslCa("External CA A");
    Path caB = opensslCa("External CA B");
    writeRole(role("external").addTrustedCaPems(Files.readString(caA.resolve("ca.pem")))
        .addAllowedDnsSans("*.partner.example"));
    Path fromA = opensslLeaf(caA, "api.partner.example", "extendedKeyUsage=clientAuth\n"
        + "subjectAltName=DNS:api.partner.example\n");
    assertEquals("ext", decrypt(opensslChannel(fromA), encrypt(opensslChannel(fromA), "ext")));

    Path fromB = opensslLeaf(caB, "api.partner.example", "extendedKeyUsage=clientAuth\n"
        + "subjectAltName=DNS:api.partner.example\n");
    StatusRuntimeException e = assertRefused(Status.Code.UNAUTHENTICATED, "matches no cert role",
        () -> encrypt(opensslChannel(fromB), "ext"));
    assertTrue(e.getStatus().getDescription().contains("does not verify up to an issuer"), e.getStatus().toString());
    assertFalse(e.getStatus().getDescription().contains("external"), "role names the caller did not name stay hidden: "
        + e.getStatus());
  }

  @Test
  void aCertificateWithoutClientAuthIsRefused() throws Exception {
    Path ca = opensslCa("External CA");
    writeRole(role("external").addTrustedCaPems(Files.readString(ca.resolve("ca.pem"))));
    Path serverOnly = opensslLeaf(ca, "api.partner.example", "extendedKeyUsage=serverAuth\n");
    assertRefused(Status.Code.UNAUTHENTICATED, "has no clientAuth extended key usage",
        () -> encrypt(opensslChannel(serverOnly), "x"));
    Path noEku = opensslLeaf(ca, "api.partner.example", "basicConstraints=CA:FALSE\n");
    assertRefused(Status.Code.UNAUTHENTICATED, "has no clientAuth extended key usage",
        () -> encrypt(opensslChannel(noEku), "x"));
    IssuedWithKey keywardenServerCert = kw.pki.issue("servers", names("web.svc.internal"), Optional.empty(),
        Optional.empty());
    assertRefused(Status.Code.UNAUTHENTICATED, "has no clientAuth", () -> encrypt(chan(keywardenServerCert), "x"));
  }

  @Test
  void anExpiredCertificateIsRefusedAtOnceEvenAfterItWorked() throws Exception {
    writeRole(role("billing").addTrustedIssuerIds(root.id()));
    IssuedWithKey cert = kw.pki.issue("clients", names("billing.svc.internal"), Optional.of(Duration.ofHours(1)),
        Optional.empty());
    ManagedChannel ch = chan(cert);
    encrypt(ch, "x");
    kw.certClock.advance(Duration.ofHours(2));
    assertRefused(Status.Code.UNAUTHENTICATED, "expired at", () -> encrypt(ch, "x"));
  }

  @Test
  void aNameMismatchIsRefusedNamingTheRuleItFailed() throws Exception {
    writeRole(role("billing").addTrustedIssuerIds(root.id()).addAllowedCommonNames("billing.svc.internal"));
    writeRole(role("spiffe").addTrustedIssuerIds(root.id()).addAllowedUriSans("spiffe://kw.test/billing"));
    IssuedWithKey orders = issue("clients", "orders.svc.internal", "spiffe://kw.test/orders");
    ManagedChannel ch = chan(orders);
    StatusRuntimeException named = assertRefused(Status.Code.UNAUTHENTICATED, "does not match cert role 'billing'",
        () -> TransitServiceGrpc.newBlockingStub(ch).withInterceptors(roleHeader("billing"))
            .encrypt(encryptRequest("x")));
    assertTrue(named.getStatus().getDescription().contains("'orders.svc.internal' is not matched by"
        + " allowed_common_names"), named.getStatus().toString());
    StatusRuntimeException unnamed = assertRefused(Status.Code.UNAUTHENTICATED, "matches no cert role",
        () -> encrypt(ch, "x"));
    String why = unnamed.getStatus().getDescription();
    assertTrue(why.contains("allowed_common_names") && why.contains("allowed_uri_sans"), why);
    assertFalse(why.contains("billing") || why.contains("spiffe'"), "no role names: " + why);
    assertRefused(Status.Code.UNAUTHENTICATED, "there is no such role",
        () -> TransitServiceGrpc.newBlockingStub(ch).withInterceptors(roleHeader("nope"))
            .encrypt(encryptRequest("x")));
  }

  @Test
  void withSeveralMatchingRolesTheHeaderChoosesOne() throws Exception {
    kw.policies.write("default-none", "{\"rules\":[{\"resource\":\"nothing\",\"capabilities\":[\"read\"]}]}");
    writeRole(role("one").addTrustedIssuerIds(root.id()));
    writeRole(role("two").addTrustedIssuerIds(root.id()).clearPolicies().addPolicies("default-none"));
    IssuedWithKey cert = issue("clients", "billing.svc.internal", "spiffe://kw.test/billing");
    ManagedChannel ch = chan(cert);
    assertRefused(Status.Code.UNAUTHENTICATED, "choose one with the header 'keywarden-cert-role",
        () -> encrypt(ch, "x"));
    TransitServiceGrpc.newBlockingStub(ch).withInterceptors(roleHeader("one")).encrypt(encryptRequest("x"));
    StatusRuntimeException denied = assertRefused(Status.Code.PERMISSION_DENIED, "[default-none]",
        () -> TransitServiceGrpc.newBlockingStub(ch).withInterceptors(roleHeader("two")).encrypt(encryptRequest("x")));
    assertNotNull(denied);
  }

  @Test
  void aBearerTokenWinsOverTheCertificate() throws Exception {
    writeRole(role("billing").addTrustedIssuerIds(root.id()));
    ManagedChannel ch = chan(issue("clients", "billing.svc.internal", "spiffe://kw.test/billing"));
    kw.policies.write("nothing", "{\"rules\":[{\"resource\":\"nothing\",\"capabilities\":[\"read\"]}]}");
    String weak = kw.tokens.create(List.of("nothing"), Duration.ofHours(1), "weak").token();
    assertRefused(Status.Code.PERMISSION_DENIED, "[nothing]", () -> TransitServiceGrpc.newBlockingStub(ch)
        .withCallCredentials(LocalKeywarden.bearer(weak)).encrypt(encryptRequest("x")));
  }

  @Test
  void changingOrDeletingTheRoleTakesEffectOnTheNextCall() throws Exception {
    writeRole(role("billing").addTrustedIssuerIds(root.id()));
    ManagedChannel ch = chan(issue("clients", "billing.svc.internal", "spiffe://kw.test/billing"));
    encrypt(ch, "x");
    writeRole(role("billing").addTrustedIssuerIds(root.id()).addAllowedCommonNames("payments.svc.internal"));
    assertRefused(Status.Code.UNAUTHENTICATED, "allowed_common_names", () -> encrypt(ch, "x"));
    writeRole(role("billing").addTrustedIssuerIds(root.id()));
    encrypt(ch, "x");
    admin(CertAuthServiceGrpc.newBlockingStub(kw.channel)).deleteCertRole(DeleteCertRoleRequest.newBuilder()
        .setName("billing").build());
    assertRefused(Status.Code.UNAUTHENTICATED, "matches no cert role", () -> encrypt(ch, "x"));
  }

  @Test
  void loginReturnsATokenWithinTheRolesPoliciesCarryingRoleAndSerial() throws Exception {
    writeRole(role("billing").addTrustedIssuerIds(root.id()).setTokenTtl(Durations.fromMinutes(30)));
    IssuedWithKey cert = issue("clients", "billing.svc.internal", "spiffe://kw.test/billing");
    CertAuthServiceLoginResponse login = CertAuthServiceGrpc.newBlockingStub(chan(cert))
        .login(CertAuthServiceLoginRequest.newBuilder().setRole("billing").build());
    TokenInfo info = login.getInfo();
    assertEquals(List.of("app-crypto"), info.getPoliciesList());
    assertEquals("billing", info.getMetadataOrThrow("role"));
    assertEquals(cert.certificate().serialHex(), info.getMetadataOrThrow("serial"));
    assertEquals("billing.svc.internal", info.getMetadataOrThrow("common_name"));
    long ttlSeconds = info.getExpireTime().getSeconds() - info.getCreateTime().getSeconds();
    assertTrue(ttlSeconds <= 1800 && ttlSeconds > 1700, "ttl " + ttlSeconds);

    // The token alone, over a connection with no client certificate.
    TransitServiceGrpc.TransitServiceBlockingStub withToken = TransitServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(login.getToken()));
    String ct = withToken.encrypt(encryptRequest("t")).getResults(0).getCiphertext();
    assertEquals("t", withToken.decrypt(DecryptRequest.newBuilder().setName(KEY)
        .addItems(DecryptItem.newBuilder().setCiphertext(ct)).build()).getResults(0).getPlaintext().toStringUtf8());
    assertRefused(Status.Code.PERMISSION_DENIED, "[app-crypto]", () -> withToken.createKey(CreateKeyRequest
        .newBuilder().setName("other").setType("aes256-gcm96").build()));
    assertEquals("billing", TokenServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(login.getToken())).lookupToken(LookupTokenRequest
            .getDefaultInstance()).getInfo().getMetadataOrThrow("role"));
  }

  @Test
  void loginWithoutACertificateOrWhileSealedIsRefused() throws Exception {
    writeRole(role("billing").addTrustedIssuerIds(root.id()));
    assertRefused(Status.Code.UNAUTHENTICATED, "presented none", () -> CertAuthServiceGrpc.newBlockingStub(kw.channel)
        .login(CertAuthServiceLoginRequest.newBuilder().setRole("billing").build()));
    ManagedChannel ch = chan(issue("clients", "billing.svc.internal", "spiffe://kw.test/billing"));
    kw.core.seal();
    assertRefused(Status.Code.FAILED_PRECONDITION, "sealed", () -> CertAuthServiceGrpc.newBlockingStub(ch)
        .login(CertAuthServiceLoginRequest.newBuilder().setRole("billing").build()));
  }

  @Test
  void roleWritesAreValidatedAndNeedGrantablePolicies() throws Exception {
    CertAuthServiceGrpc.CertAuthServiceBlockingStub stub = admin(CertAuthServiceGrpc.newBlockingStub(kw.channel));
    assertRefused(Status.Code.INVALID_ARGUMENT, "trusts no issuer", () -> stub.writeCertRole(
        WriteCertRoleRequest.newBuilder().setRole(role("r")).build()));
    assertRefused(Status.Code.NOT_FOUND, "no-such-issuer", () -> stub.writeCertRole(
        WriteCertRoleRequest.newBuilder().setRole(role("r").addTrustedIssuerIds("no-such-issuer")).build()));
    assertRefused(Status.Code.INVALID_ARGUMENT, "not a CA certificate", () -> stub.writeCertRole(
        WriteCertRoleRequest.newBuilder().setRole(role("r").addTrustedCaPems(issue("clients", "a.svc.internal",
            "spiffe://kw.test/a").certificate().certificatePem())).build()));
    String weak = kw.tokens.create(List.of("app-crypto"), Duration.ofHours(1), "w").token();
    kw.policies.write("role-writer", "{\"rules\":[{\"resource\":\"auth/cert/roles/*\","
        + "\"capabilities\":[\"create\",\"update\",\"read\"]}]}");
    String writer = kw.tokens.create(List.of("role-writer"), Duration.ofHours(1), "w").token();
    assertRefused(Status.Code.PERMISSION_DENIED, "auth/cert/roles/r", () -> CertAuthServiceGrpc
        .newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(weak))
        .writeCertRole(WriteCertRoleRequest.newBuilder().setRole(role("r").addTrustedIssuerIds(root.id())).build()));
    assertRefused(Status.Code.PERMISSION_DENIED, "only hand out policies it has itself", () -> CertAuthServiceGrpc
        .newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(writer))
        .writeCertRole(WriteCertRoleRequest.newBuilder().setRole(role("r").addTrustedIssuerIds(root.id())).build()));
    CertRole stored = stub.writeCertRole(WriteCertRoleRequest.newBuilder().setRole(role("r")
        .addTrustedIssuerIds(root.id()).addAllowedDnsSans("*.SVC.internal")).build()).getRole();
    assertEquals(List.of("*.svc.internal"), stored.getAllowedDnsSansList());
    assertEquals(3600, stored.getTokenTtl().getSeconds());
    assertEquals(stored, stub.getCertRole(GetCertRoleRequest.newBuilder().setName("r").build()).getRole());
  }

  // ---- helpers ----

  private static CertRole.Builder role(String name) {
    return CertRole.newBuilder().setName(name).addPolicies("app-crypto");
  }

  private void writeRole(CertRole.Builder role) {
    admin(CertAuthServiceGrpc.newBlockingStub(kw.channel)).writeCertRole(WriteCertRoleRequest.newBuilder()
        .setRole(role).build());
  }

  private <S extends io.grpc.stub.AbstractStub<S>> S admin(S stub) {
    return stub.withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
  }

  private static RequestedNames names(String cn) {
    return new RequestedNames(Optional.of(cn), List.of(cn), List.of(), List.of());
  }

  private IssuedWithKey issue(String role, String cn, String uri) {
    return kw.pki.issue(role, new RequestedNames(Optional.of(cn), List.of(cn), List.of(), List.of(URI.create(uri))),
        Optional.empty(), Optional.empty());
  }

  private ManagedChannel chan(IssuedWithKey cert) throws Exception {
    return kw.tlsChannel(cert.certificate().certificatePem(), cert.privateKeyPem());
  }

  private static io.grpc.ClientInterceptor roleHeader(String role) {
    return LocalKeywarden.header(CertAuthenticator.ROLE_HEADER, role);
  }

  private static EncryptRequest encryptRequest(String text) {
    return EncryptRequest.newBuilder().setName(KEY).addItems(EncryptItem.newBuilder()
        .setPlaintext(ByteString.copyFromUtf8(text))).build();
  }

  private static String encrypt(ManagedChannel ch, String text) {
    return TransitServiceGrpc.newBlockingStub(ch).encrypt(encryptRequest(text)).getResults(0).getCiphertext();
  }

  private static String decrypt(ManagedChannel ch, String ciphertext) {
    return TransitServiceGrpc.newBlockingStub(ch).decrypt(DecryptRequest.newBuilder().setName(KEY)
        .addItems(DecryptItem.newBuilder().setCiphertext(ciphertext)).build()).getResults(0).getPlaintext()
        .toStringUtf8();
  }

  private static StatusRuntimeException assertRefused(Status.Code code, String part, Executable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
    assertTrue(e.getStatus().getDescription().contains(part), "expected '" + part + "' in " + e.getStatus());
    return e;
  }

  /** A CA made by the openssl CLI: DIR/ca.pem and DIR/ca.key. */
  private Path opensslCa(String cn) throws Exception {
    Path d = Files.createDirectories(dir.resolve("ca-" + cn.replace(' ', '-')));
    Path cnf = d.resolve("ca.cnf");
    Files.writeString(cnf, "[req]\ndistinguished_name=dn\n[dn]\n[ca]\nbasicConstraints=critical,CA:true\n"
        + "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n");
    OpenSsl.run("req", "-x509", "-config", cnf.toString(), "-extensions", "ca", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", d.resolve("ca.key").toString(), "-out",
        d.resolve("ca.pem").toString(), "-days", "2", "-subj", "/CN=" + cn);
    return d;
  }

  /** A leaf signed by an openssl CA with the given extensions: DIR/leaf.pem and DIR/leaf.key. */
  private Path opensslLeaf(Path ca, String cn, String extensions) throws Exception {
    Path d = Files.createTempDirectory(dir, "leaf-");
    Path cnf = d.resolve("leaf.cnf");
    Files.writeString(cnf, "[req]\ndistinguished_name=dn\n[dn]\n[leaf]\n" + extensions);
    OpenSsl.run("req", "-new", "-config", cnf.toString(), "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", d.resolve("leaf.key").toString(), "-out", d.resolve("leaf.csr").toString(),
        "-subj", "/CN=" + cn);
    OpenSsl.run("x509", "-req", "-in", d.resolve("leaf.csr").toString(), "-CA", ca.resolve("ca.pem").toString(),
        "-CAkey", ca.resolve("ca.key").toString(), "-set_serial", "0x" + Long.toHexString(System.nanoTime()),
        "-days", "1", "-extfile", cnf.toString(), "-extensions", "leaf", "-out", d.resolve("leaf.pem").toString());
    return d;
  }

  private ManagedChannel opensslChannel(Path leaf) throws Exception {
    return kw.tlsChannel(Files.readString(leaf.resolve("leaf.pem"), StandardCharsets.US_ASCII),
        Files.readString(leaf.resolve("leaf.key"), StandardCharsets.US_ASCII));
  }
}
