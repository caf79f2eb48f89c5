package dev.keywarden.ssh;

import static dev.keywarden.ssh.SshFixture.refusal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine over SoftHSM2, with ssh-keygen as the oracle for what it hands out. */
class SshEngineTest {
  @TempDir static Path dir;
  static SshFixture f;
  static SshEngine ssh;
  static OpenSsh keygen;
  static final SshIdentity ALICE = new SshIdentity("alice", Map.of("team", "ops"));
  static String aliceKey;

  @BeforeAll
  static void setUp() throws Exception {
    f = new SshFixture(dir, MutableClock.running());
    ssh = f.engine;
    keygen = f.ssh;
    ssh.createCa("users", null, Optional.of(CertType.USER));
    ssh.createCa("hosts", KeyType.EC_P256, Optional.of(CertType.HOST));
    ssh.writeRole(SshRole.builder("dev", CertType.USER).allowedPrincipals("{{identity}}", "deploy-*")
        .defaultPrincipals("{{identity}}").allowedExtensions("permit-pty", "permit-agent-forwarding")
        .defaultExtensions("permit-pty").allowedCriticalOptions("source-address").maxTtl(Duration.ofHours(8))
        .build());
    aliceKey = keygen.newKey("alice", "ed25519", 0);
  }

  @AfterAll
  static void tearDown() {
    f.close();
  }

  @Test
  void everyCaKeyTypeSignsEveryUserKeyTypeAndSshKeygenReadsIt() throws Exception {
    String ec = keygen.newKey("m-ec256", "ecdsa", 256);
    List<String> subjects = List.of(aliceKey, ec, keygen.newKey("m-ec384", "ecdsa", 384),
        keygen.newKey("m-ec521", "ecdsa", 521), keygen.newKey("m-rsa", "rsa", 2048), SshTestKeys.skEd25519(aliceKey),
        SshTestKeys.skEcdsa(ec));
    for (KeyType caType : List.of(KeyType.ED25519, KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_3072)) {
      String ca = "m-" + caType.typeName();
      SshCaInfo info = ssh.createCa(ca, caType, Optional.empty());
      keygen.write(ca + ".pub", ssh.trustedUserCaKeys(ca));
      String shown = keygen.keygenOk("-l", "-f", ca + ".pub");
      assertTrue(shown.contains(info.signer().fingerprint()), shown);
      for (String subject : subjects) {
        SignedSshCertificate c = ssh.sign("dev", ALICE, new SignRequest(subject, List.of("alice", "deploy-web"),
            Optional.of(Duration.ofMinutes(30)), Optional.empty(), null, Map.of("source-address", "10.0.0.0/8"),
            Optional.of(ca)));
        keygen.write("m-cert.pub", c.certificate() + "\n");
        String out = keygen.keygenOk("-L", "-f", "m-cert.pub");
        String what = caType + " x " + subject.split(" ")[0] + ":\n" + out;
        assertTrue(out.contains("Signing CA: ") && out.contains(info.signer().fingerprint()), what);
        assertTrue(out.contains("Serial: " + c.serial()), what);
        assertTrue(out.contains("Key ID: \"dev:alice\""), what);
        assertTrue(out.matches("(?s).*Principals: \\n\\s+alice\\n\\s+deploy-web\\n.*"), what);
        assertTrue(out.contains("source-address 10.0.0.0/8"), what);
        assertTrue(out.matches("(?s).*Extensions: \\n\\s+permit-pty\\n\\s+Signature.*")
            || out.matches("(?s).*Extensions: \\n\\s+permit-pty\\s*"), what);
        assertFalse(out.contains("(using ssh-rsa)"), what);
        if (caType.isRsa()) {
          assertTrue(out.contains("(using rsa-sha2-512)"), what);
        }
      }
    }
  }

  @Test
  void validityIsNowLessTheBackdateToNowPlusTheTtlAndSerialsAreNonZeroDecimal() {
    Instant before = Instant.now();
    SignedSshCertificate c = ssh.sign("dev", ALICE, new SignRequest(aliceKey, List.of(), Optional.empty(),
        Optional.empty(), null, null, Optional.empty()));
    Instant after = Instant.now();
    assertEquals(List.of("alice"), c.principals(), "the default principal, templated");
    assertEquals("users", c.caName());
    assertTrue(!c.validAfter().isBefore(before.minusSeconds(31)) && !c.validAfter().isAfter(after.minusSeconds(29)));
    assertEquals(Duration.ofHours(1).plusSeconds(30).getSeconds(),
        Duration.between(c.validAfter(), c.validBefore()).getSeconds(), 1);
    assertEquals(c.serial(), SshEngine.canonicalSerial(c.serial()));
    assertNotEquals("0", c.serial());
    SshCertificateRecord stored = ssh.certificate(c.serial());
    assertEquals(c.certificate(), stored.certificate());
    assertNull(stored.revokedAt());
    // The signing key is kept published at least as long as the certificate is valid, before it is returned.
    assertFalse(ssh.ca("users").signer().signedUntil().isBefore(c.validBefore()));
  }

  @Test
  void requestsOutsideTheRoleAreRefusedNamingTheFieldAndTheRule() {
    assertRefused("principals: 'bob' is not allowed by role 'dev'", () -> ssh.sign("dev", ALICE,
        req(List.of("bob"), Optional.empty(), null, null)));
    assertRefused("ttl: 9h is above role 'dev''s max_ttl of 8h", () -> ssh.sign("dev", ALICE,
        req(List.of(), Optional.of(Duration.ofHours(9)), null, null)));
    assertRefused("extensions: 'permit-X11-forwarding' is not allowed by role 'dev'", () -> ssh.sign("dev", ALICE,
        req(List.of(), Optional.empty(), Map.of("permit-X11-forwarding", ""), null)));
    assertRefused("critical_options: 'force-command' is not allowed by role 'dev'", () -> ssh.sign("dev", ALICE,
        req(List.of(), Optional.empty(), null, Map.of("force-command", "/bin/true"))));
    assertRefused("source-address: '10.0.0.1/8' has host bits set", () -> ssh.sign("dev", ALICE,
        req(List.of(), Optional.empty(), null, Map.of("source-address", "192.168.0.0/16,10.0.0.1/8"))));
    assertRefused("key_id: role 'dev' sets the key id from its template", () -> ssh.sign("dev", ALICE,
        new SignRequest(aliceKey, List.of(), Optional.empty(), Optional.of("mine"), null, null, Optional.empty())));
    SshIdentity nobody = new SshIdentity("", Map.of());
    assertRefused("principals: none given", () -> ssh.sign("dev", nobody, req(List.of(), Optional.empty(), null,
        null)));
  }

  @Test
  void smallRsaKeysDsaAndKeyTypesOutsideTheRoleAreRefused() throws Exception {
    ssh.writeRole(SshRole.builder("ed-only", CertType.USER).allowedPrincipals("*").allowedUserKeyTypes("ed25519",
        "sk-ed25519").build());
    String rsa = keygen.newKey("small-rsa", "rsa", 1024);
    assertRefused("takes RSA keys of at least 2048 bits (min_rsa_bits); this one has 1024",
        () -> ssh.sign("dev", ALICE, new SignRequest(rsa, List.of(), Optional.empty(), Optional.empty(), null, null,
            Optional.empty())));
    String ec = keygen.newKey("some-ec", "ecdsa", 256);
    assertRefused("takes only [ed25519, sk-ed25519] keys (allowed_user_key_types); this is ecdsa",
        () -> ssh.sign("ed-only", ALICE, new SignRequest(ec, List.of("x"), Optional.empty(), Optional.empty(), null,
            null, Optional.empty())));
    assertRefused("DSA keys", () -> ssh.sign("dev", ALICE, new SignRequest("ssh-dss AAAAB3NzaC1kc3M=", List.of(),
        Optional.empty(), Optional.empty(), null, null, Optional.empty())));
    assertRefused("rsa-2048 is too weak", () -> ssh.createCa("weak", KeyType.RSA_2048, Optional.empty()));
  }

  @Test
  void emptyPrincipalsAreSignedOnlyWhenTheRoleAllowsAnyPrincipal() throws Exception {
    ssh.writeRole(SshRole.builder("any", CertType.USER).allowAnyPrincipal(true).build());
    SignedSshCertificate c = ssh.sign("any", ALICE, req(List.of(), Optional.empty(), null, null));
    assertEquals(List.of(), c.principals());
    keygen.write("any-cert.pub", c.certificate() + "\n");
    assertTrue(keygen.keygenOk("-L", "-f", "any-cert.pub").contains("Principals: (none)"));
  }

  @Test
  void hostCertificatesCarryNamesWithinAllowedDomainsAndKnownHostsListsTheCa() throws Exception {
    ssh.writeRole(SshRole.builder("web", CertType.HOST).allowedDomains("example.com").allowSubdomains(true)
        .ttl(Duration.ofDays(7)).build());
    String hostKey = keygen.newKey("host", "ecdsa", 256);
    SignedSshCertificate c = ssh.sign("web", new SshIdentity("provisioner", Map.of()), new SignRequest(hostKey,
        List.of("Web1.Example.com"), Optional.empty(), Optional.empty(), null, null, Optional.empty()));
    assertEquals("hosts", c.caName());
    assertEquals(CertType.HOST, c.type(), "the signed certificate says its type (SignSshKey's cert_type)");
    assertEquals(List.of("web1.example.com"), c.principals());
    keygen.write("host-cert.pub", c.certificate() + "\n");
    String out = keygen.keygenOk("-L", "-f", "host-cert.pub");
    assertTrue(out.contains("host certificate"), out);
    assertRefused("it is the bare domain 'example.com' and allow_bare_domains is off", () -> ssh.sign("web",
        ALICE, new SignRequest(hostKey, List.of("example.com"), Optional.empty(), Optional.empty(), null, null,
            Optional.empty())));
    String known = ssh.knownHosts("hosts", "*.example.com");
    assertTrue(known.startsWith("@cert-authority *.example.com ecdsa-sha2-nistp256 AAAA"), known);
    assertTrue(known.strip().endsWith(" keywarden-ca:hosts"), known);
    // ssh-keygen finds the CA line in that known_hosts file for the host.
    keygen.write("known_hosts", known);
    String found = keygen.keygenOk("-F", "web1.example.com", "-f", "known_hosts");
    assertTrue(found.contains("@cert-authority"), found);
  }

  @Test
  void issueReturnsAnOpenSshPrivateKeySshKeygenReadsWithItsCertificate() throws Exception {
    ssh.writeRole(SshRole.builder("issue", CertType.USER).allowedPrincipals("{{identity}}")
        .defaultPrincipals("{{identity}}").keyType(KeyType.EC_P256).build());
    for (Optional<KeyType> type : List.of(Optional.<KeyType>empty(), Optional.of(KeyType.ED25519),
        Optional.of(KeyType.RSA_3072))) {
      IssuedSshKey k = ssh.issue("issue", ALICE, new IssueRequest(type, List.of(), Optional.empty(),
          Optional.empty(), null, null, Optional.empty()));
      assertFalse(k.toString().contains("PRIVATE"), "toString hides the private key");
      assertTrue(k.privateKeyOpenSsh().startsWith("-----BEGIN OPENSSH PRIVATE KEY-----"));
      Path key = keygen.write("issued", k.privateKeyOpenSsh());
      Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      String derived = keygen.keygenOk("-y", "-f", "issued").strip();
      assertEquals(k.publicKey().split(" ")[1], derived.split(" ")[1], "the private key is the certified one's");
      keygen.write("issued-cert.pub", k.certificate().certificate() + "\n");
      String out = keygen.keygenOk("-L", "-f", "issued-cert.pub");
      String fp = keygen.keygenOk("-l", "-f", "issued").split(" ")[1];
      assertTrue(out.contains("Public key: ") && out.contains(fp), out + " vs " + fp);
      String expectType = type.orElse(KeyType.EC_P256) == KeyType.EC_P256 ? "ecdsa-sha2-nistp256"
          : type.get() == KeyType.ED25519 ? "ssh-ed25519" : "ssh-rsa";
      assertTrue(out.contains("Type: " + expectType + "-cert-v01@openssh.com user certificate"), out);
    }
  }

  @Test
  void krlRefusesRevokedSerialsAndKeyIdsAndPassesTheRest() throws Exception {
    ssh.createCa("krl", null, Optional.empty());
    ssh.writeRole(SshRole.builder("krl", CertType.USER).ca("krl").allowedPrincipals("*").build());
    ssh.writeRole(SshRole.builder("krl-nostore", CertType.USER).ca("krl").allowedPrincipals("*").noStore(true)
        .keyIdTemplate("ephemeral-{{identity}}").build());
    keygen.write("krl0", ssh.krl("krl"));
    assertTrue(keygen.keygenOk("-Q", "-l", "-f", "krl0").contains("# KRL version"));
    SignedSshCertificate revoked = ssh.sign("krl", ALICE, req(List.of("a"), Optional.empty(), null, null));
    SignedSshCertificate kept = ssh.sign("krl", ALICE, req(List.of("a"), Optional.empty(), null, null));
    SignedSshCertificate ephemeral = ssh.sign("krl-nostore", ALICE, req(List.of("a"), Optional.empty(), null,
        null));
    assertEquals(KeywardenException.Kind.NOT_FOUND, refusal(() -> ssh.certificate(ephemeral.serial())).kind());
    SshCertificateRecord r = ssh.revoke(revoked.serial());
    assertTrue(r.revokedAt() != null);
    assertEquals(r.revokedAt(), ssh.revoke(revoked.serial()).revokedAt(), "revoking twice is fine");
    assertEquals(List.of(), ssh.revokeKeyId("krl", "ephemeral-alice"), "nothing stored to mark");
    // "a\uD800" and "a?" would have the same UTF-8 bytes (Java writes '?' for the lone surrogate)
    assertRefused("no unpaired surrogates", () -> ssh.revokeKeyId("krl", "a\uD800"));
    assertRefused("no unpaired surrogates", () -> ssh.revokeKeyId("krl", "\uDC00a"));
    assertEquals(List.of(), ssh.revokeKeyId("krl", "emoji-\uD83D\uDD11"), "a surrogate pair is one character");
    keygen.write("krl1", ssh.krl("krl"));
    keygen.write("r-cert.pub", revoked.certificate() + "\n");
    keygen.write("k-cert.pub", kept.certificate() + "\n");
    keygen.write("e-cert.pub", ephemeral.certificate() + "\n");
    assertTrue(keygen.keygen("-Q", "-f", "krl1", "r-cert.pub").out().contains("REVOKED"));
    assertTrue(keygen.keygen("-Q", "-f", "krl1", "e-cert.pub").out().contains("REVOKED"));
    assertTrue(keygen.keygenOk("-Q", "-f", "krl1", "k-cert.pub").contains(": ok"));
    // A certificate with a revoked key id would be refused everywhere: the CA signs none until the revocation ends.
    assertEquals(KeywardenException.Kind.FAILED_PRECONDITION, refusal(() -> ssh.sign("krl-nostore", ALICE,
        req(List.of("a"), Optional.empty(), null, null))).kind());
    // The stored revocation is used after a restart (another process) too.
    assertTrue(ssh.krl("krl").length > 0);
  }

  private static SignRequest req(List<String> principals, Optional<Duration> ttl, Map<String, String> extensions,
      Map<String, String> options) {
    return new SignRequest(aliceKey, principals, ttl, Optional.empty(), extensions, options, Optional.empty());
  }

  static void assertRefused(String contains, Runnable r) {
    KeywardenException e = refusal(r);
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains(contains), e.getMessage());
  }

  @Test
  void caInfoShowsTheDefaults() {
    assertEquals(Set.of(CertType.USER), ssh.ca("users").defaultFor());
    assertEquals(Set.of(CertType.HOST), ssh.ca("hosts").defaultFor());
    assertEquals(KeywardenException.Kind.ALREADY_EXISTS, refusal(() -> ssh.createCa("users", null,
        Optional.empty())).kind());
  }
}
