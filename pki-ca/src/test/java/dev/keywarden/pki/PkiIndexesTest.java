package dev.keywarden.pki;

import dev.keywarden.storage.testing.ReadRecordingStorage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.operator.bc.BcDigestCalculatorProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OCSP and tidy cost the same however many certificates and issuers are stored: the responder is found by the
 * request's issuer key hash and the certificate by its serial; tidy reads the expired range of the expiry index only.
 * Stores written before these indexes are indexed once. Revocations and roles are listed a page per range read.
 */
class PkiIndexesTest {
  @TempDir Path dir;
  PkiFixture f;
  ReadRecordingStorage recorded;
  PkiEngine pki;

  @BeforeEach
  void start() throws Exception {
    f = new PkiFixture(dir, Clock.systemUTC(), s -> recorded = new ReadRecordingStorage(s));
    pki = f.pki;
    pki.writeRole(PkiEngineTest.WEB);
  }

  @AfterEach
  void stop() {
    f.close();
  }

  private IssuedCertificate issue(String issuerId, String host) {
    return pki.issue("web", RequestedNames.commonName(host), Optional.empty(), Optional.of(issuerId)).certificate();
  }

  private OCSPResp ocsp(String issuerId, String serialHex, org.bouncycastle.asn1.x509.AlgorithmIdentifier hash)
      throws Exception {
    X509CertificateHolder ca = new X509CertificateHolder(pki.issuer(issuerId).certificateDer());
    CertificateID id = new CertificateID(new BcDigestCalculatorProvider().get(hash), ca,
        new BigInteger(serialHex, 16));
    recorded.reads.clear();
    return new OCSPResp(pki.ocsp(new OCSPReqBuilder().addRequest(id).build().getEncoded()));
  }

  @Test
  void ocspFindsTheResponderByKeyHashWithoutListingIssuersOrCertificates() throws Exception {
    List<String> roots = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      roots.add(pki.generateRoot("Root " + i, KeyType.EC_P256, Duration.ofDays(1), Optional.empty()).id());
    }
    IssuedCertificate good = issue(roots.get(2), "a.example.com");
    IssuedCertificate revoked = issue(roots.get(2), "b.example.com");
    pki.revoke(revoked.serialHex(), 1);

    for (var hash : List.of(CertificateID.HASH_SHA1,
        new org.bouncycastle.asn1.x509.AlgorithmIdentifier(org.bouncycastle.asn1.nist.NISTObjectIdentifiers.id_sha256))) {
      OCSPResp resp = ocsp(roots.get(2), good.serialHex(), hash);
      assertEquals(OCSPResp.SUCCESSFUL, resp.getStatus());
      assertNull(((BasicOCSPResp) resp.getResponseObject()).getResponses()[0].getCertStatus(), "good");
      assertNoScan();
      resp = ocsp(roots.get(2), revoked.serialHex(), hash);
      assertTrue(((BasicOCSPResp) resp.getResponseObject()).getResponses()[0].getCertStatus()
          instanceof RevokedStatus);
      assertNoScan();
    }
    // another issuer's CertID for the same serial is answered by that issuer: unknown there
    OCSPResp other = ocsp(roots.get(0), good.serialHex(), CertificateID.HASH_SHA1);
    assertEquals(OCSPResp.SUCCESSFUL, other.getStatus());
    assertTrue(((BasicOCSPResp) other.getResponseObject()).getResponses()[0].getCertStatus()
        instanceof org.bouncycastle.cert.ocsp.UnknownStatus);
    assertNoScan();
  }

  private void assertNoScan() {
    for (String read : recorded.reads) {
      assertTrue(!read.startsWith(PkiEngine.ISSUERS + "[") && !read.equals(PkiEngine.ISSUERS)
          && !read.startsWith(PkiEngine.CERTS + "[") && !read.equals(PkiEngine.CERTS)
          && !read.equals(PkiEngine.REVOKED) && !read.equals("pki/"), "OCSP listed " + read + ": " + recorded.reads);
    }
  }

  @Test
  void tidyReadsOnlyTheExpiredRangeOfTheExpiryIndexAndDeletesInBoundedBatches() {
    String root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty()).id();
    int shortLived = PkiEngine.TIDY_BATCH + 20;
    List<String> expiring = new ArrayList<>();
    for (int i = 0; i < shortLived; i++) {
      expiring.add(issue(root, "s" + i + ".example.com").serialHex());
    }
    pki.revoke(expiring.get(3), 1);
    Role longRole = Role.builder("long").allowedDomains("example.com").allowSubdomains(true).serverFlag(true)
        .ttl(Duration.ofDays(5)).maxTtl(Duration.ofDays(5)).build();
    pki.writeRole(longRole);
    List<String> kept = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      kept.add(pki.issue("long", RequestedNames.commonName("l" + i + ".example.com"), Optional.empty(),
          Optional.of(root)).certificate().serialHex());
    }
    recorded.reads.clear();
    recorded.transactionWrites.clear();

    PkiEngine.Tidied t = pki.tidy(Instant.now().plus(Duration.ofDays(1)));

    assertEquals(shortLived, t.certificates());
    assertEquals(1, t.revocations());
    for (String read : recorded.reads) {
      assertTrue(!read.startsWith(PkiEngine.CERTS) && !read.startsWith(PkiEngine.REVOKED),
          "tidy read certificates or revocations: " + read);
    }
    assertTrue(recorded.transactionWrites.stream().allMatch(n -> n <= 3 * PkiEngine.TIDY_BATCH),
        "a transaction larger than a batch: " + recorded.transactionWrites);
    assertEquals(kept.stream().sorted().toList(), pki.listCertificates());
  }

  @Test
  void aStoreWrittenBeforeTheIndexesIsIndexedOnceAndThenServedByThem() throws Exception {
    String root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty()).id();
    IssuedCertificate a = issue(root, "a.example.com");
    IssuedCertificate b = issue(root, "b.example.com");
    pki.revoke(b.serialHex(), 1);
    // as an earlier version left the store: neither index nor their markers
    for (String prefix : List.of(PkiEngine.EXPIRY, Issuers.ISSUER_KEYS)) {
      f.storage.list(prefix).forEach(f.storage::delete);
    }
    f.storage.delete(PkiEngine.EXPIRY_INDEXED);
    f.storage.delete(Issuers.ISSUER_KEYS_INDEXED);
    f.restart();
    pki = f.pki;

    OCSPResp resp = ocsp(root, a.serialHex(), CertificateID.HASH_SHA1);
    assertNull(((BasicOCSPResp) resp.getResponseObject()).getResponses()[0].getCertStatus(), "good");
    assertTrue(f.storage.get(Issuers.ISSUER_KEYS_INDEXED).isPresent());
    resp = ocsp(root, a.serialHex(), CertificateID.HASH_SHA1);
    assertNoScan();

    assertEquals(new PkiEngine.Tidied(0, 0, List.of()), pki.tidy(Instant.now()));
    assertTrue(f.storage.get(PkiEngine.EXPIRY_INDEXED).isPresent());
    assertEquals(new PkiEngine.Tidied(2, 1, List.of()), pki.tidy(Instant.now().plus(Duration.ofHours(3))));
    assertEquals(List.of(), pki.listCertificates());
  }

  @Test
  void revocationsAreListedAPageAtATimeEachPageOneRangeRead() {
    String root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty()).id();
    List<String> revoked = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      String serial = issue(root, "r" + i + ".example.com").serialHex();
      pki.revoke(serial, 1);
      revoked.add(serial);
    }
    String prefix = PkiEngine.REVOKED + root + "/";
    List<String> listed = new ArrayList<>();
    List<Integer> sizes = new ArrayList<>();
    String after = "";
    List<RevokedCertificate> page;
    do {
      recorded.reads.clear();
      page = pki.listRevoked(root, after, 2);
      List<String> listings = recorded.reads.stream()
          .filter(r -> r.startsWith(PkiEngine.REVOKED) && (r.contains("[") || r.endsWith("/"))).toList();
      assertEquals(List.of(prefix + "[" + (after.isEmpty() ? "" : prefix + after) + ",2]"), listings,
          "one range read of the issuer's revocations: " + recorded.reads);
      sizes.add(page.size());
      page.forEach(r -> listed.add(r.serialHex()));
      after = page.isEmpty() ? "" : page.get(page.size() - 1).serialHex();
    } while (page.size() == 2);
    assertEquals(List.of(2, 2, 1), sizes);
    assertEquals(revoked.stream().sorted().toList(), listed);
    assertEquals(List.of(), pki.listRevoked(root, "f".repeat(64), 2), "a cursor past the last serial");

    for (String bad : List.of("../x", "ABC", "0x1f", "a".repeat(65))) {
      KeywardenException e = assertThrows(KeywardenException.class, () -> pki.listRevoked(root, bad, 2), bad);
      assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind(), bad);
      assertEquals("after", e.field(), bad);
    }
  }

  @Test
  void rolesAreListedAPageAtATimeAndARoleWriteReadsOneRoleNotAll() {
    for (String name : List.of("r-a", "r-b", "r-c")) {
      pki.writeRole(Role.builder(name).allowedDomains("example.com").serverFlag(true).build());
    }
    recorded.reads.clear();
    assertEquals(List.of("r-a", "r-b"), pki.listRoles("", 2));
    assertEquals(List.of(PkiEngine.ROLES + "[,2]"), rolesRead());
    assertEquals(List.of("r-c", "web"), pki.listRoles("r-b", 2));
    assertEquals(List.of(), pki.listRoles("web", 2));
    assertEquals(List.of("web"), pki.listRoles("r-c", 1000));
    KeywardenException e = assertThrows(KeywardenException.class, () -> pki.listRoles("../x", 2));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals("after", e.field());

    recorded.reads.clear();
    assertTrue(pki.roleExists("r-b"));
    assertFalse(pki.roleExists("r-z"));
    assertEquals(List.of(PkiEngine.ROLES + "r-b", PkiEngine.ROLES + "r-z"), rolesRead());
  }

  private List<String> rolesRead() {
    return recorded.reads.stream().filter(r -> r.startsWith(PkiEngine.ROLES)).toList();
  }
}
