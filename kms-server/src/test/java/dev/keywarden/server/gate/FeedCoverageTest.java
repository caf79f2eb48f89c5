package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.*;
import dev.keywarden.audit.AuditDeviceConfig;
import dev.keywarden.jwt.JwtAlgorithm;
import dev.keywarden.jwt.JwtIdentity;
import dev.keywarden.jwt.JwtKeySettings;
import dev.keywarden.jwt.JwtRole;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.pki.RequestedNames;
import dev.keywarden.pki.Role;
import dev.keywarden.server.auth.cert.CertRole;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every key a run of the engines writes is either under a prefix some cache watches on the change feed (so a change
 * made by another server sharing the store reaches this one) or under a prefix declared here as read from storage on
 * each use. An engine that starts caching what it stores under a new prefix, without watching it, fails this test
 * until it does (or says here why it need not).
 */
class FeedCoverageTest {
  /** Prefixes whose records are read from storage whenever they are used (or never change once written), and why. */
  static final Map<String, String> NOT_CACHED = Map.ofEntries(
      Map.entry("sys/seal", "the seal envelope: read at unseal; its header is watched by the core"),
      Map.entry("sys/ceremony/", "a rekey or generate-root in progress: read on each share and status call"),
      Map.entry("sys/keys/", "the token HMAC key and other keys made once at init, never changed"),
      Map.entry("sys/token-children/", "the token tree: read when a parent is revoked"),
      Map.entry("sys/token-expiry/", "the tokens' expiry index: read only by tidy"),
      Map.entry("sys/config/token-expiry-indexed", "the expiry index's marker: read by tidy"),
      Map.entry("sys/init", "the init marker: read at start"),
      Map.entry("sys/nodes/", "the servers' heartbeats: read on each status call"),
      Map.entry("pki/config/", "PKI settings read when used; the default issuer (pki/config/default-issuer) is watched"),
      Map.entry("pki/certs/", "issued certificates: read by serial when asked"),
      Map.entry("pki/expiry/", "the certificates' expiry index: read only by tidy"),
      Map.entry("pki/issuer-keys/", "the issuers' key index: read by each OCSP request, never cached"),
      Map.entry("pki/revoked/", "read by serial (OCSP) and when a CRL is built; cert auth verdicts watch it"),
      Map.entry("ssh/certs/", "issued SSH certificates: read by serial when asked"),
      Map.entry("ssh/certs-by-key-id/", "the SSH certificates' index by CA and key id: read only by revoke-key-id"),
      Map.entry("ssh/config/certs-by-key-id-indexed", "that index's marker from the version before the expiry"
          + " index: written with ssh/config/certs-indexed, read by servers of that version"),
      Map.entry("ssh/expiry/", "the SSH certificates' and revoked key ids' expiry index: read only by tidy"),
      Map.entry("ssh/config/certs-indexed", "the SSH indexes' marker: read by revoke-key-id and tidy"),
      Map.entry("transit/rotation-due/", "the keyrings' scheduled-rotation index: read only by rotateDue"),
      Map.entry("transit/config/rotation-due-indexed", "the rotation index's marker: read by rotateDue"),
      Map.entry("ssh/revoked/", "revoked SSH serials: read when a KRL is built, which the ssh/krl/ version (bumped in"
          + " the same transaction) decides"),
      Map.entry("ssh/krl/", "the KRL version: read on each KRL request, which rebuilds when it moved"),
      Map.entry("sys/audit/hmac/", "a device's HMAC key: unwrapped into the working keys, dropped there when the"
          + " device's settings change on the feed"),
      Map.entry("sys/audit/chain/", "each server's own chain state per device: written and read by that server only"),
      Map.entry("sys/audit/signing-key", "the audit signing key's HSM id: made once, never changed"));

  @TempDir
  Path dir;

  @Test
  void everyPrefixTheEnginesWriteIsWatchedOrDeclaredUncached() throws Exception {
    RecordingStorage[] recorded = new RecordingStorage[1];
    try (LocalKeywarden kw = new LocalKeywarden(dir, 1L << 30, false,
        s -> recorded[0] = new RecordingStorage(s))) {
      var transit = TransitServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
      transit.createKey(CreateKeyRequest.newBuilder().setName("k").build());
      transit.encrypt(EncryptRequest.newBuilder().setName("k")
          .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("x"))).build());
      transit.rotateKey(RotateKeyRequest.newBuilder().setName("k").build());
      var ssh = SshServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
      ssh.createSshCa(CreateSshCaRequest.newBuilder().setName("users").build());
      ssh.writeSshRole(WriteSshRoleRequest.newBuilder().setRole(SshRole.newBuilder().setName("u").setCa("users")
          .setCertType(SshCertType.SSH_CERT_TYPE_USER).addAllowedPrincipals("*")).build());
      var sshCert = ssh.issueSshKey(IssueSshKeyRequest.newBuilder().setRole("u").addPrincipals("alice").build())
          .getCertificate();
      ssh.revokeSshKeyId(RevokeSshKeyIdRequest.newBuilder().setCa("users").setKeyId(sshCert.getKeyId()).build());
      ssh.tidySsh(TidySshRequest.getDefaultInstance());
      ssh.tidySsh(TidySshRequest.newBuilder().setReindex(true).build());

      kw.policies.write("app", "{\"rules\":[{\"resource\":\"transit/keys/k\",\"capabilities\":[\"encrypt\"]}]}");
      var issued = kw.tokens.create(List.of("app"), Duration.ofHours(1), "app");
      kw.tokens.revoke(issued.record().accessor());

      var root = kw.pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
      kw.pki.writeRole(Role.fromJson("{\"name\":\"web\",\"allowed_domains\":[\"example.com\"],"
          + "\"allow_subdomains\":true,\"server_flag\":true,\"ttl\":\"1h\",\"max_ttl\":\"1h\"}"));
      var cert = kw.pki.issue("web", new RequestedNames(Optional.of("a.example.com"), List.of("a.example.com"),
          List.of(), List.of()), Optional.empty(), Optional.empty());
      kw.pki.revoke(cert.certificate().serialHex(), 1);
      kw.pki.crl(root.id());
      kw.certRoles.write(new CertRole("svc", List.of(root.id()), List.of(), List.of(), List.of(), List.of(),
          List.of("app"), null));

      kw.jwtKeys.createKey(JwtKeySettings.of("idp", JwtAlgorithm.ES256, "https://idp.example.com")
          .withPublishAhead(Duration.ZERO));
      kw.jwtKeys.writeRole(JwtRole.builder("orders", "idp").allowedAudiences("orders-api").build());
      kw.jwtKeys.sign("idp", "orders", new JwtIdentity("alice", Map.of()), List.of(Map.of("aud", "orders-api")),
          Optional.empty());
      kw.jwtKeys.rotate("idp", true);

      kw.audit.enable(AuditDeviceConfig.file("main", dir.resolve("audit.log"),
          AuditDeviceConfig.FsyncPolicy.BATCHED));
      kw.audit.disable("main");
    }
    RecordingStorage r = recorded[0];
    TreeSet<String> uncovered = new TreeSet<>();
    for (String key : r.written) {
      boolean watched = r.watched.stream().anyMatch(key::startsWith);
      boolean declared = NOT_CACHED.keySet().stream().anyMatch(key::startsWith);
      if (!watched && !declared) {
        uncovered.add(key);
      }
    }
    assertTrue(r.written.size() >= 15, "the workload wrote only " + r.written);
    assertEquals(new TreeSet<>(), uncovered, "written under a prefix no cache watches and none is declared"
        + " uncached; watched: " + new TreeSet<>(r.watched));
  }
}
