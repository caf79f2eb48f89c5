package dev.keywarden.pki;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.encoding.Pem;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.io.ByteArrayInputStream;
import java.io.StringReader;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CA engine over SQLite storage and a SoftHSM2 token, checked with OpenSSL where it matters. */
class PkiEngineTest {
  @TempDir
  Path dir;

  SoftHsmToken token;
  Storage storage;
  Core core;
  InitResult init;
  PkiEngine pki;
  final SecureRandom random = new SecureRandom();

  static final Role WEB = Role.builder("web").allowedDomains("example.com").allowSubdomains(true).serverFlag(true)
      .clientFlag(true).ttl(Duration.ofHours(1)).maxTtl(Duration.ofHours(2)).build();

  @BeforeEach
  void start() throws Exception {
    token = SoftHsmToken.create();
    Files.createDirectories(dir.resolve("db"));
    storage = SqliteStorage.open(dir.resolve("db"));
    core = new Core(storage, token.provider(8), random, 100);
    init = core.initialize(1, 1, token.pin(), false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    pki = new PkiEngine(core, Clock.systemUTC(), random);
  }

  @AfterEach
  void stop() {
    core.shutdown();
    storage.close();
  }

  void restart() {
    core.shutdown();
    storage.close();
    storage = SqliteStorage.open(dir.resolve("db"));
    core = new Core(storage, token.provider(8), random, 100);
    core.submitUnsealShare(init.shares().get(0));
    pki = new PkiEngine(core, Clock.systemUTC(), random);
  }

  static KeywardenException refusal(Runnable r) {
    return assertThrows(KeywardenException.class, r::run);
  }

  byte[] csr(String cn, String... dns) throws Exception {
    List<GeneralName> sans = new ArrayList<>();
    for (String d : dns) {
      sans.add(TestKeys.dns(d));
    }
    return TestKeys.csr(TestKeys.ec("secp256r1"), "CN=" + cn, sans);
  }

  Path write(String name, String text) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  record Run(int exit, String out) {}

  static Run openssl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    return new Run(p.exitValue(), out);
  }

  static X509Certificate x509(byte[] der) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
  }

  static long crlNumber(byte[] crl) throws Exception {
    return ASN1Integer.getInstance(new X509CRLHolder(crl).getExtension(Extension.cRLNumber).getParsedValue())
        .getValue().longValueExact();
  }

  @Test
  void generateRootKeepsTheKeyOnTheTokenAndAnIntermediateChainsToItForOpenssl() throws Exception {
    IssuerInfo root = pki.generateRoot("Keywarden Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    assertTrue(root.isDefault(), "the first issuer is the default");
    String objects = token.run(List.of("pkcs11-tool", "--module", token.library().toString(), "--token-label",
        token.label(), "--login", "--pin", new String(token.pin()), "--list-objects", "--type", "privkey"));
    assertTrue(objects.contains("pki-issuer-" + root.id()), objects);
    X509Certificate rootCert = x509(root.certificateDer());
    assertEquals(rootCert.getSubjectX500Principal(), rootCert.getIssuerX500Principal());
    rootCert.verify(rootCert.getPublicKey());

    IssuerInfo inter = pki.generateIntermediate("Keywarden Issuing", KeyType.EC_P384, Duration.ofDays(7), root.id());
    assertFalse(inter.isDefault());
    assertEquals(Optional.of(root.id()), inter.parentId());
    x509(inter.certificateDer()).verify(rootCert.getPublicKey());
    assertEquals(2, pki.issuers().size());

    pki.writeRole(WEB);
    IssuedCertificate leaf = pki.signCsr("web", csr("api.example.com"), Optional.empty(), Optional.of(inter.id()));
    assertEquals(2, leaf.chainDer().size(), "chain: intermediate then root");
    Run r = openssl("verify", "-CAfile", write("root.pem", root.certificatePem()).toString(), "-untrusted",
        write("inter.pem", inter.certificatePem()).toString(), write("leaf.pem", leaf.certificatePem()).toString());
    assertEquals(0, r.exit(), r.out());
    assertTrue(r.out().contains(": OK"), r.out());

    pki.setDefault(inter.id());
    assertTrue(pki.issuer(inter.id()).isDefault());
    assertFalse(pki.issuer(root.id()).isDefault());
  }

  @Test
  void everyIssuerKeyTypeSignsInTheHsm() throws Exception {
    pki.writeRole(WEB);
    for (KeyType t : List.of(KeyType.EC_P384, KeyType.ED25519, KeyType.RSA_2048)) {
      IssuerInfo root = pki.generateRoot("Root " + t.typeName(), t, Duration.ofDays(1), Optional.empty());
      IssuedCertificate leaf = pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.of(root.id()));
      x509(leaf.certificateDer()).verify(x509(root.certificateDer()).getPublicKey(), TestKeys.BC);
    }
  }

  @Test
  void aRoleStoredByANewerServerWithAFieldThisOneDoesNotKnowIsRefusedNotWeakened() {
    String json = WEB.toJson();
    storage.put(PkiEngine.ROLES + "web", ("{\"require_future_constraint\":true," + json.substring(1))
        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    KeywardenException e = refusal(() -> pki.role("web"));
    assertEquals(Kind.FAILED_PRECONDITION, e.kind(), "not the caller's INVALID_ARGUMENT");
    assertTrue(e.getMessage().contains("require_future_constraint") && e.getMessage().contains("newer Keywarden"),
        e.getMessage());
  }

  @Test
  void unknownIssuerRoleAndSerialAreNotFound() throws Exception {
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.issue("web", RequestedNames.commonName("a.example.com"),
        Optional.empty(), Optional.empty())).kind(), "unknown role");
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.issuer("nope")).kind());
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.role("nope")).kind());
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.certificate("abcdef")).kind());
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.revoke("abcdef", 1)).kind());
    pki.writeRole(WEB);
    KeywardenException noIssuer = refusal(() -> pki.issue("web", RequestedNames.commonName("a.example.com"),
        Optional.empty(), Optional.empty()));
    assertEquals(Kind.FAILED_PRECONDITION, noIssuer.kind());
    assertTrue(noIssuer.getMessage().contains("generate a root"), noIssuer.getMessage());
    pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.signCsr("web", uncheckedCsr("a.example.com"), Optional.empty(),
        Optional.of("nope"))).kind());
  }

  @Test
  void rolesAreWrittenListedAndDeleted() {
    pki.writeRole(WEB);
    pki.writeRole(Role.builder("api").allowedDomains("svc.internal").allowSubdomains(true).clientFlag(true).build());
    assertEquals(List.of("api", "web"), pki.listRoles("", 100));
    assertEquals(WEB, pki.role("web"));
    pki.deleteRole("api");
    assertEquals(List.of("web"), pki.listRoles("", 100));
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.deleteRole("api")).kind());
  }

  @Test
  void roleChangesRacingWithReadsAreNeverLostToTheRoleCache() throws Exception {
    java.util.function.IntFunction<Role> version = i -> Role.builder("race").allowedDomains("example.com")
        .serverFlag(true).maxTtl(Duration.ofHours(i)).build();
    pki.writeRole(version.apply(1));
    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
    List<Thread> readers = new java.util.ArrayList<>();
    for (int t = 0; t < 3; t++) {
      Thread r = new Thread(() -> {
        while (!done.get()) {
          pki.role("race");
        }
      });
      r.start();
      readers.add(r);
    }
    for (int i = 2; i <= 200; i++) {
      pki.writeRole(version.apply(i));
      assertEquals(Duration.ofHours(i), pki.role("race").maxTtl(), "a read right after write " + i);
    }
    done.set(true);
    for (Thread r : readers) {
      r.join();
    }
    assertEquals(Duration.ofHours(200), pki.role("race").maxTtl());
    pki.deleteRole("race");
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.role("race")).kind());
    restart();
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.role("race")).kind());
  }

  @Test
  void signCsrRefusesNamesOutsideTheRoleAndTtlAboveMaxAndStoresWhatItIssues() throws Exception {
    pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.writeRole(WEB);
    KeywardenException names = refusal(() -> pki.signCsr("web", uncheckedCsr("api.other.org"), Optional.empty(),
        Optional.empty()));
    assertEquals(Kind.INVALID_ARGUMENT, names.kind());
    assertTrue(names.getMessage().contains("example.com"), names.getMessage());
    KeywardenException ttl = refusal(() -> pki.signCsr("web", uncheckedCsr("a.example.com"),
        Optional.of(Duration.ofHours(3)), Optional.empty()));
    assertEquals(Kind.INVALID_ARGUMENT, ttl.kind());
    assertTrue(ttl.getMessage().contains("max_ttl"), ttl.getMessage());
    assertEquals(List.of(), pki.listCertificates(), "refused requests store nothing");

    IssuedCertificate c = pki.signCsr("web", csr("a.example.com", "b.example.com"), Optional.of(Duration.ofMinutes(30)),
        Optional.empty());
    assertEquals(List.of(c.serialHex()), pki.listCertificates());
    IssuedCertificate fetched = pki.certificate(c.serialHex().toUpperCase());
    assertArrayEquals(c.certificateDer(), fetched.certificateDer());
    assertEquals(new BigInteger(c.serialHex(), 16), x509(c.certificateDer()).getSerialNumber());

    pki.writeRole(Role.builder("ephemeral").allowedDomains("example.com").allowSubdomains(true).serverFlag(true)
        .noStore(true).build());
    IssuedCertificate e = pki.signCsr("ephemeral", csr("x.example.com"), Optional.empty(), Optional.empty());
    assertEquals(List.of(c.serialHex()), pki.listCertificates(), "no_store roles store nothing");
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.certificate(e.serialHex())).kind());
  }

  private byte[] uncheckedCsr(String cn) {
    try {
      return csr(cn);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void issueReturnsAPrivateKeyThatMatchesTheCertificate() throws Exception {
    pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    for (KeyType t : List.of(KeyType.EC_P256, KeyType.ED25519, KeyType.RSA_2048)) {
      pki.writeRole(Role.builder("r").allowedDomains("example.com").allowSubdomains(true).serverFlag(true).keyType(t)
          .build());
      IssuedWithKey issued = pki.issue("r", RequestedNames.commonName("k.example.com"), Optional.empty(),
          Optional.empty());
      assertFalse(issued.toString().contains("PRIVATE"), "no key in toString");
      PrivateKey key;
      try (PEMParser p = new PEMParser(new StringReader(issued.privateKeyPem()))) {
        key = new JcaPEMKeyConverter().setProvider(TestKeys.BC).getPrivateKey((PrivateKeyInfo) p.readObject());
      }
      X509Certificate cert = x509(issued.certificate().certificateDer());
      String alg = t == KeyType.ED25519 ? "Ed25519" : t.isRsa() ? "SHA256withRSA" : "SHA256withECDSA";
      Signature s = Signature.getInstance(alg, TestKeys.BC);
      s.initSign(key);
      s.update("proof".getBytes(UTF_8));
      byte[] sig = s.sign();
      s.initVerify(cert.getPublicKey());
      s.update("proof".getBytes(UTF_8));
      assertTrue(s.verify(sig), t + ": the private key matches the certificate");
    }
  }

  @Test
  void revokedLeafFailsOpensslCrlCheckAndCrlNumbersIncrease() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.writeRole(WEB);
    IssuedCertificate leaf = pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty());
    IssuedCertificate other = pki.signCsr("web", csr("b.example.com"), Optional.empty(), Optional.empty());
    Path leafPem = write("leaf.pem", leaf.certificatePem());

    byte[] crl0 = pki.crl(root.id());
    Path bundle0 = write("bundle0.pem", root.certificatePem() + Pem.block("X509 CRL", crl0));
    Run before = openssl("verify", "-crl_check", "-CAfile", bundle0.toString(), leafPem.toString());
    assertEquals(0, before.exit(), before.out());

    RevokedCertificate r = pki.revoke(leaf.serialHex(), 1);
    assertEquals(1, r.reason());
    assertEquals(r, pki.revoke(leaf.serialHex(), 4), "revoking twice keeps the first revocation");
    byte[] crl1 = pki.crl(root.id());
    assertTrue(crlNumber(crl1) > crlNumber(crl0));
    Path crlPem = write("crl1.pem", Pem.block("X509 CRL", crl1));
    Path bundle1 = write("bundle1.pem", root.certificatePem() + Pem.block("X509 CRL", crl1));
    Run after = openssl("verify", "-crl_check", "-CAfile", bundle1.toString(), leafPem.toString());
    assertNotEquals(0, after.exit(), after.out());
    assertTrue(after.out().contains("certificate revoked"), after.out());
    Run otherOk = openssl("verify", "-crl_check", "-CAfile", bundle1.toString(),
        write("other.pem", other.certificatePem()).toString());
    assertEquals(0, otherOk.exit(), otherOk.out());

    Run text = openssl("crl", "-in", crlPem.toString(), "-noout", "-text");
    assertEquals(0, text.exit(), text.out());
    assertTrue(text.out().toUpperCase().contains(leaf.serialHex().toUpperCase()), text.out());
    assertTrue(text.out().contains("Key Compromise"), text.out());
    assertTrue(text.out().contains("Authority Key Identifier"), text.out());

    pki.revoke(other.serialHex(), 5);
    byte[] crl2 = pki.crl(root.id());
    assertTrue(crlNumber(crl2) > crlNumber(crl1));
    X509CRL parsed = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(crl2));
    parsed.verify(x509(root.certificateDer()).getPublicKey());
    assertEquals(2, parsed.getRevokedCertificates().size());
    assertEquals(2, pki.listRevoked(root.id(), "", 100).size());
    assertArrayEquals(crl2, pki.crl(root.id()), "the latest CRL is cached");
    assertEquals(Kind.INVALID_ARGUMENT, refusal(() -> pki.revoke(other.serialHex(), 7)).kind());
  }

  @Test
  void aRestartedEngineIssuesWithTheSameIssuerAndServesTheSameRevocations() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.writeRole(WEB);
    IssuedCertificate leaf = pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty());
    pki.revoke(leaf.serialHex(), 1);
    byte[] before = pki.crl(root.id());

    restart();
    IssuedCertificate again = pki.signCsr("web", csr("b.example.com"), Optional.empty(), Optional.empty());
    assertEquals(root.id(), again.issuerId());
    x509(again.certificateDer()).verify(x509(root.certificateDer()).getPublicKey());
    byte[] crl = pki.crl(root.id());
    assertArrayEquals(before, crl, "a restart serves the stored CRL rather than build one per start");
    X509CRL parsed = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(crl));
    assertNotNull(parsed.getRevokedCertificate(new BigInteger(leaf.serialHex(), 16)));
    assertNull(parsed.getRevokedCertificate(new BigInteger(again.serialHex(), 16)));
    pki.revoke(again.serialHex(), 4);
    assertTrue(crlNumber(pki.crl(root.id())) > crlNumber(before), "CRL numbers never repeat across restarts");
  }

  @Test
  void anIssuerWhoseKeyLeftTheHsmIsRefusedByName() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.writeRole(WEB);
    String objects = token.run(List.of("pkcs11-tool", "--module", token.library().toString(), "--token-label",
        token.label(), "--login", "--pin", new String(token.pin()), "--list-objects", "--type", "privkey"));
    assertTrue(objects.contains("pki-issuer-" + root.id()));
    destroyIssuerKey(root.id());
    KeywardenException e = refusal(() -> pki.signCsr("web", uncheckedCsr("a.example.com"), Optional.empty(),
        Optional.empty()));
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains(root.id()), e.getMessage());
  }

  private void destroyIssuerKey(String issuerId) {
    byte[] json = storage.get(PkiEngine.ISSUERS + issuerId).orElseThrow().value();
    String s = new String(json, UTF_8);
    String label = s.replaceAll(".*\"hsm_label\":\"([^\"]+)\".*", "$1");
    String id = s.replaceAll(".*\"hsm_id\":\"([^\"]+)\".*", "$1");
    core.unsealed().hsm().destroyKey(new HsmKeyId(label, id));
  }

  @Test
  void concurrentIssuanceGivesDistinctStoredSerials() throws Exception {
    pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.writeRole(WEB);
    List<byte[]> csrs = new ArrayList<>();
    KeyPair k = TestKeys.ec("secp256r1");
    for (int i = 0; i < 200; i++) {
      csrs.add(TestKeys.csr(k, "CN=h" + i + ".example.com", List.of()));
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<List<String>>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        futures.add(pool.submit(() -> {
          List<String> serials = new ArrayList<>();
          for (int i = 0; i < 25; i++) {
            serials.add(pki.signCsr("web", csrs.get(thread * 25 + i), Optional.empty(), Optional.empty()).serialHex());
          }
          return serials;
        }));
      }
      Set<String> all = new HashSet<>();
      for (Future<List<String>> f : futures) {
        all.addAll(f.get(120, TimeUnit.SECONDS));
      }
      assertEquals(200, all.size());
      assertEquals(all, new HashSet<>(pki.listCertificates()));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aSealedEngineRefusesEverything() {
    pki.writeRole(WEB);
    core.seal();
    assertEquals(Kind.FAILED_PRECONDITION, refusal(() -> pki.listRoles("", 100)).kind());
    assertEquals(Kind.FAILED_PRECONDITION, refusal(() -> pki.issuers()).kind());
  }

  @Test
  void anIntermediateWithPathLengthZeroSignsNoFurtherCa() {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    IssuerInfo inter = pki.generateIntermediate("Inter", KeyType.EC_P256, Duration.ofDays(1), root.id());
    KeywardenException e = refusal(() -> pki.generateIntermediate("Deeper", KeyType.EC_P256, Duration.ofDays(1),
        inter.id()));
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains(inter.id()), e.getMessage());
  }

  @Test
  void ocspAnswersGoodRevokedAndUnknownSignedByTheIssuerForOpenssl() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.writeRole(WEB);
    IssuedCertificate leaf = pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty());
    Path rootPem = write("root.pem", root.certificatePem());
    Path leafPem = write("leaf.pem", leaf.certificatePem());
    Path req = dir.resolve("req.der");
    Run made = openssl("ocsp", "-issuer", rootPem.toString(), "-cert", leafPem.toString(), "-reqout", req.toString());
    assertEquals(0, made.exit(), made.out());

    Path resp = dir.resolve("resp.der");
    Files.write(resp, pki.ocsp(Files.readAllBytes(req)));
    Run good = openssl("ocsp", "-respin", resp.toString(), "-no_nonce", "-issuer", rootPem.toString(),
        "-cert", leafPem.toString(), "-CAfile", rootPem.toString());
    assertTrue(good.out().contains("Response verify OK"), good.out());
    assertTrue(good.out().contains(leafPem + ": good"), good.out());
    // OpenSSL makes a fresh request (fresh nonce) when given -cert, so the echo is checked here.
    Extension sent = new OCSPReq(Files.readAllBytes(req))
        .getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
    assertNotNull(sent, "openssl sends a nonce by default");
    BasicOCSPResp basic = (BasicOCSPResp)
        new OCSPResp(Files.readAllBytes(resp)).getResponseObject();
    assertEquals(sent, basic.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce));

    pki.revoke(leaf.serialHex(), 1);
    Files.write(resp, pki.ocsp(Files.readAllBytes(req)));
    Run revoked = openssl("ocsp", "-respin", resp.toString(), "-no_nonce", "-issuer",
        rootPem.toString(), "-cert", leafPem.toString(), "-CAfile", rootPem.toString());
    assertTrue(revoked.out().contains("Response verify OK"), revoked.out());
    assertTrue(revoked.out().contains(leafPem + ": revoked"), revoked.out());
    assertTrue(revoked.out().contains("keyCompromise"), revoked.out());

    pki.writeRole(Role.builder("ephemeral").allowedDomains("example.com").allowSubdomains(true).serverFlag(true)
        .noStore(true).build());
    Path unstored = write("unstored.pem", pki.signCsr("ephemeral", csr("x.example.com"), Optional.empty(),
        Optional.empty()).certificatePem());
    Path req2 = dir.resolve("req2.der");
    assertEquals(0, openssl("ocsp", "-issuer", rootPem.toString(), "-cert", unstored.toString(), "-reqout",
        req2.toString()).exit());
    Files.write(resp, pki.ocsp(Files.readAllBytes(req2)));
    Run unknown = openssl("ocsp", "-respin", resp.toString(), "-no_nonce", "-issuer",
        rootPem.toString(), "-cert", unstored.toString(), "-CAfile", rootPem.toString());
    assertTrue(unknown.out().contains(unstored + ": unknown"), unknown.out());

    Files.write(resp, pki.ocsp("not ocsp".getBytes(UTF_8)));
    Run malformed = openssl("ocsp", "-respin", resp.toString(), "-resp_text", "-noverify");
    assertTrue(malformed.out().contains("malformedrequest"), malformed.out());
  }

  @Test
  void tidyDropsExpiredCertificatesAndTheirRevocations() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.writeRole(WEB);
    IssuedCertificate a = pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty());
    IssuedCertificate b = pki.signCsr("web", csr("b.example.com"), Optional.empty(), Optional.empty());
    pki.revoke(a.serialHex(), 0);
    assertEquals(new PkiEngine.Tidied(0, 0, List.of()), pki.tidy(Instant.now()));
    assertEquals(2, pki.listCertificates().size());

    assertEquals(new PkiEngine.Tidied(2, 1, List.of()), pki.tidy(Instant.now().plus(Duration.ofHours(3))));
    assertEquals(List.of(), pki.listCertificates());
    assertEquals(List.of(), pki.listRevoked(root.id(), "", 100));
    X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509")
        .generateCRL(new ByteArrayInputStream(pki.crl(root.id())));
    assertNull(crl.getRevokedCertificates(), "the rebuilt CRL no longer lists the expired certificate");
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.certificate(b.serialHex())).kind());
  }

  private String privateKeysOnToken() {
    return token.run(List.of("pkcs11-tool", "--module", token.library().toString(), "--token-label",
        token.label(), "--login", "--pin", new String(token.pin()), "--list-objects", "--type", "privkey"));
  }

  @Test
  void aFailedIssuerLeavesNoKeyOnTheToken() {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    long before = privateKeysOnToken().lines().filter(l -> l.contains("pki-issuer-")).count();
    assertEquals(Kind.INVALID_ARGUMENT, refusal(() -> pki.generateRoot("Bad URL", KeyType.EC_P256,
        Duration.ofDays(1), Optional.of("ftp://x"))).kind());
    assertEquals(Kind.INVALID_ARGUMENT, refusal(() -> pki.generateIntermediate("Zero", KeyType.EC_P256,
        Duration.ZERO, root.id())).kind());
    assertEquals(before, privateKeysOnToken().lines().filter(l -> l.contains("pki-issuer-")).count(),
        privateKeysOnToken());
    assertEquals(1, pki.issuers().size());
  }

  @Test
  void issueRefusesNamesOutsideTheRoleAndSignCsrTakesPemOrDer() throws Exception {
    pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.writeRole(WEB);
    KeywardenException e = refusal(() -> pki.issue("web", RequestedNames.commonName("evil.org"), Optional.empty(),
        Optional.empty()));
    assertEquals(Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains("example.com"), e.getMessage());
    byte[] der = csr("d.example.com");
    assertEquals(0x30, der[0], "a DER SEQUENCE");
    IssuedCertificate c = pki.signCsr("web", der, Optional.empty(), Optional.empty());
    assertTrue(x509(c.certificateDer()).getSubjectAlternativeNames().toString().contains("d.example.com"));
    byte[] pem = Pem.block("CERTIFICATE REQUEST", csr("p.example.com")).getBytes(UTF_8);
    IssuedCertificate p = pki.signCsr("web", pem, Optional.empty(), Optional.empty());
    assertTrue(x509(p.certificateDer()).getSubjectAlternativeNames().toString().contains("p.example.com"));
  }
}
