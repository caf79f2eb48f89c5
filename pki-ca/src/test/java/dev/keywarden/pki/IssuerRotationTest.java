package dev.keywarden.pki;

import static dev.keywarden.pki.PkiFixture.csr;
import static dev.keywarden.pki.PkiFixture.refusal;
import static dev.keywarden.pki.PkiFixture.x509;
import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.testing.MutableClock;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.operator.bc.BcDigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issuer rotation: a new key and certificate under a new id, the old issuer retired but still publishing status. */
class IssuerRotationTest {
  static final Role WEB = Role.builder("web").allowedDomains("example.com").allowSubdomains(true).serverFlag(true)
      .clientFlag(true).ttl(Duration.ofHours(1)).maxTtl(Duration.ofHours(2)).build();

  @TempDir
  Path dir;

  MutableClock clock;
  PkiFixture f;
  PkiEngine pki;

  @BeforeEach
  void start() throws Exception {
    // Ten minutes past an hour, so rounding issued_until up to the hour is visible.
    clock = MutableClock.stoppedAt(Instant.now().truncatedTo(ChronoUnit.HOURS).plusSeconds(600));
    f = new PkiFixture(dir, clock);
    pki = f.pki;
    pki.writeRole(WEB);
  }

  @AfterEach
  void stop() {
    f.close();
  }

  @Test
  void rotatingARootRetiresItAndItsSuccessorTakesOverAsDefault() throws Exception {
    IssuerInfo old = pki.generateRoot("Keywarden Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    IssuedCertificate before = pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty());

    IssuerInfo next = pki.rotateIssuer(old.id(), Optional.empty());
    assertNotEquals(old.id(), next.id());
    assertEquals(IssuerState.ACTIVE, next.state());
    assertTrue(next.isDefault(), "the successor of the default is the default");
    assertEquals(Optional.of(old.id()), next.replaces());
    assertEquals(x509(old.certificateDer()).getSubjectX500Principal(),
        x509(next.certificateDer()).getSubjectX500Principal(), "the same subject");
    assertNotEquals(x509(old.certificateDer()).getPublicKey(), x509(next.certificateDer()).getPublicKey());
    x509(next.certificateDer()).verify(x509(next.certificateDer()).getPublicKey());
    assertEquals(Optional.of(clock.instant().plus(Duration.ofDays(30))), next.notAfter(),
        "the old certificate's lifetime");
    IssuerInfo retired = pki.issuer(old.id());
    assertEquals(IssuerState.RETIRED, retired.state());
    assertEquals(Optional.of(next.id()), retired.replacedBy());
    assertFalse(retired.isDefault());

    KeywardenException named = refusal(() -> pki.signCsr("web", csr("b.example.com"), Optional.empty(),
        Optional.of(old.id())));
    assertEquals(Kind.FAILED_PRECONDITION, named.kind());
    assertTrue(named.getMessage().contains(next.id()), "names the successor: " + named.getMessage());
    IssuedCertificate after = pki.signCsr("web", csr("b.example.com"), Optional.empty(), Optional.empty());
    assertEquals(next.id(), after.issuerId());
    x509(after.certificateDer()).verify(x509(next.certificateDer()).getPublicKey());

    assertPublishesStatus(old.id(), before);
    assertEquals(Kind.FAILED_PRECONDITION, refusal(() -> pki.rotateIssuer(old.id(), Optional.empty())).kind());
    assertEquals(Kind.FAILED_PRECONDITION, refusal(() -> pki.setDefault(old.id())).kind());
  }

  @Test
  void rotatingAnIntermediateSignsTheNewOneWithTheSameParent() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    IssuerInfo inter = pki.generateIntermediate("Issuing", KeyType.EC_P384, Duration.ofDays(7), root.id(),
        Optional.empty(), true);
    assertTrue(inter.isDefault(), "asked to be the default");

    IssuerInfo next = pki.rotateIssuer(inter.id(), Optional.of(Duration.ofDays(3)));
    assertEquals(Optional.of(root.id()), next.parentId());
    assertEquals(KeyType.EC_P384, next.keyType());
    assertTrue(next.isDefault());
    x509(next.certificateDer()).verify(x509(root.certificateDer()).getPublicKey());
    assertTrue(pki.issuer(root.id()).issuedUntil().orElseThrow().compareTo(next.notAfter().orElseThrow()) >= 0,
        "the root's CRL must outlive the intermediates it signed");
    IssuedCertificate leaf = pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty());
    Path rootPem = f.write("root.pem", root.certificatePem());
    Path interPem = f.write("inter.pem", next.certificatePem());
    assertTrue(f.opensslOk("verify", "-attime", String.valueOf(clock.instant().getEpochSecond()), "-CAfile",
        rootPem.toString(), "-untrusted", interPem.toString(), f.write("leaf.pem", leaf.certificatePem()).toString())
        .contains(": OK"), "checked at the engine's (stopped) time");

    // Once the root itself is rotated, a new intermediate is signed by the root's successor.
    IssuerInfo newRoot = pki.rotateIssuer(root.id(), Optional.empty());
    IssuerInfo third = pki.rotateIssuer(next.id(), Optional.empty());
    assertEquals(Optional.of(newRoot.id()), third.parentId());
    x509(third.certificateDer()).verify(x509(newRoot.certificateDer()).getPublicKey());
  }

  @Test
  void issuedUntilIsRoundedUpToTheHourAndWrittenOnlyWhenItGrows() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    assertEquals(Optional.empty(), pki.issuer(root.id()).issuedUntil());
    Instant start = clock.instant();
    IssuedCertificate first = pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty());
    assertEquals(start.plus(Duration.ofHours(1)), first.notAfter());
    Instant nextHour = start.plus(Duration.ofMinutes(50)).plus(Duration.ofHours(1));
    assertEquals(Optional.of(nextHour), pki.issuer(root.id()).issuedUntil(), "rounded up to the hour");

    long version = f.storage.get(PkiEngine.ISSUERS + root.id()).orElseThrow().version();
    clock.advance(Duration.ofMinutes(30));
    pki.signCsr("web", csr("b.example.com"), Optional.empty(), Optional.empty());
    pki.issue("web", RequestedNames.commonName("c.example.com"), Optional.empty(), Optional.empty());
    assertEquals(version, f.storage.get(PkiEngine.ISSUERS + root.id()).orElseThrow().version(),
        "no write while the stored value covers the new certificate");
    clock.advance(Duration.ofMinutes(25));
    pki.signCsr("web", csr("d.example.com"), Optional.empty(), Optional.empty());
    assertEquals(Optional.of(nextHour.plus(Duration.ofHours(1))), pki.issuer(root.id()).issuedUntil());
  }

  @Test
  void tidyRemovesARetiredIssuerAndItsKeyOnlyOnceWhatItIssuedHasExpired() throws Exception {
    IssuerInfo old = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty());
    IssuerInfo next = pki.rotateIssuer(old.id(), Optional.empty());
    pki.crl(old.id());

    assertEquals(List.of(), pki.tidy(clock.instant()).issuersRemoved(), "its certificate is still valid");
    assertEquals(IssuerState.RETIRED, pki.issuer(old.id()).state());
    PkiEngine.Tidied atIssuedUntil = pki.tidy(pki.issuer(old.id()).issuedUntil().orElseThrow());
    assertEquals(1, atIssuedUntil.certificates(), "the certificate has expired by then");
    assertEquals(List.of(), atIssuedUntil.issuersRemoved(), "the issuer is kept up to and including issued_until");

    assertEquals(List.of(old.id()), pki.tidy(clock.instant().plus(Duration.ofHours(3))).issuersRemoved());
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.issuer(old.id())).kind());
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.crl(old.id())).kind());
    assertFalse(f.privateKeysOnToken().contains("pki-issuer-" + old.id()), "its HSM key is destroyed");
    assertTrue(f.privateKeysOnToken().contains("pki-issuer-" + next.id()));
    assertEquals(List.of(next.id()), pki.issuers().stream().map(IssuerInfo::id).toList());
    assertEquals(List.of(), pki.tidy(clock.instant().plus(Duration.ofDays(30))).issuersRemoved(),
        "active issuers are never tidied");
  }

  @Test
  void deletingAnActiveOrRetiredIssuerIsRefusedAndChangesNothing() throws Exception {
    IssuerInfo old = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty());
    IssuerInfo next = pki.rotateIssuer(old.id(), Optional.empty());
    Map<String, Long> before = storedVersions();

    KeywardenException retired = refusal(() -> pki.deleteIssuer(old.id()));
    assertEquals(Kind.FAILED_PRECONDITION, retired.kind());
    assertTrue(retired.getMessage().contains("retired") && retired.getMessage().contains("pki tidy"),
        retired.getMessage());
    KeywardenException active = refusal(() -> pki.deleteIssuer(next.id()));
    assertEquals(Kind.FAILED_PRECONDITION, active.kind());
    assertTrue(active.getMessage().contains("rotate-issuer " + next.id()), active.getMessage());
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.deleteIssuer("0123456789abcdef")).kind());

    assertEquals(before, storedVersions(), "nothing written");
    assertTrue(f.privateKeysOnToken().contains("pki-issuer-" + old.id()), "keys kept");
    assertTrue(f.privateKeysOnToken().contains("pki-issuer-" + next.id()));
    assertEquals(next.id(), pki.signCsr("web", csr("b.example.com"), Optional.empty(), Optional.empty())
        .issuerId());
    pki.crl(old.id());
  }

  /** Every PKI storage key with its version. */
  private Map<String, Long> storedVersions() {
    Map<String, Long> out = new HashMap<>();
    f.storage.list("pki/").forEach(k -> out.put(k, f.storage.get(k).orElseThrow().version()));
    return out;
  }

  @Test
  void everyCertificateIssuedDuringRotationsVerifiesAgainstTheIssuerItsResponseNames() throws Exception {
    pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    List<IssuedCertificate> issued = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < 3; t++) {
        int thread = t;
        workers.add(pool.submit(() -> {
          for (int i = 0; !stop.get(); i++) {
            issued.add(pki.signCsr("web", csr("h" + thread + "-" + i + ".example.com"), Optional.empty(),
                Optional.empty()));
          }
          return null;
        }));
      }
      for (int rotation = 0; rotation < 3; rotation++) {
        awaitMore(issued, 15);
        String current = pki.issuers().stream().filter(IssuerInfo::isDefault).findFirst().orElseThrow().id();
        pki.rotateIssuer(current, Optional.empty());
      }
      awaitMore(issued, 15);
      stop.set(true);
      for (Future<?> w : workers) {
        w.get(60, TimeUnit.SECONDS); // no request failed because of a rotation
      }
    } finally {
      stop.set(true);
      pool.shutdownNow();
    }

    Map<String, List<IssuedCertificate>> byIssuer = new HashMap<>();
    issued.forEach(c -> byIssuer.computeIfAbsent(c.issuerId(), k -> new ArrayList<>()).add(c));
    assertTrue(byIssuer.size() >= 3, "certificates from several issuers: " + byIssuer.keySet());
    for (Map.Entry<String, List<IssuedCertificate>> e : byIssuer.entrySet()) {
      IssuerInfo issuer = pki.issuer(e.getKey());
      PublicKey key = x509(issuer.certificateDer()).getPublicKey();
      Instant latest = Instant.EPOCH;
      for (IssuedCertificate c : e.getValue()) {
        x509(c.certificateDer()).verify(key);
        assertArrayEquals(issuer.certificateDer(), c.chainDer().get(0), "the chain starts at the named issuer");
        latest = latest.isAfter(c.notAfter()) ? latest : c.notAfter();
      }
      assertFalse(issuer.issuedUntil().orElseThrow().isBefore(latest), "issued_until covers what it issued");
      assertPublishesStatus(e.getKey(), e.getValue().get(e.getValue().size() - 1));
    }
  }

  private static void awaitMore(List<IssuedCertificate> issued, int more) throws InterruptedException {
    int target = issued.size() + more;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (issued.size() < target && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertTrue(issued.size() >= target, "issuance stalled at " + issued.size());
  }

  /** The issuer's CRL verifies with its key, and its OCSP responder says "good" for {@code cert}, signed likewise. */
  private void assertPublishesStatus(String issuerId, IssuedCertificate cert) throws Exception {
    IssuerInfo issuer = pki.issuer(issuerId);
    X509CertificateHolder ca = new X509CertificateHolder(issuer.certificateDer());
    X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509")
        .generateCRL(new ByteArrayInputStream(pki.crl(issuerId)));
    crl.verify(x509(issuer.certificateDer()).getPublicKey());
    CertificateID id = new CertificateID(new BcDigestCalculatorProvider().get(CertificateID.HASH_SHA1), ca,
        new BigInteger(cert.serialHex(), 16));
    OCSPResp resp = new OCSPResp(pki.ocsp(new OCSPReqBuilder().addRequest(id).build().getEncoded()));
    assertEquals(OCSPResp.SUCCESSFUL, resp.getStatus());
    BasicOCSPResp basic = (BasicOCSPResp) resp.getResponseObject();
    assertTrue(basic.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(TestKeys.BC).build(ca)),
        "signed by issuer " + issuerId);
    assertNull(basic.getResponses()[0].getCertStatus(), "good");
  }
}
