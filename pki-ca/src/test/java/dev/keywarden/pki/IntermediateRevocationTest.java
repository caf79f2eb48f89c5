package dev.keywarden.pki;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.encoding.Pem;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.KeyType;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A compromised intermediate is revoked by serial like any certificate its parent issued. */
class IntermediateRevocationTest {
  private static final Role WEB = Role.builder("web").allowedDomains("example.com").allowSubdomains(true)
      .serverFlag(true).build();

  @TempDir Path dir;
  private PkiFixture f;

  @BeforeEach
  void start() throws Exception {
    f = new PkiFixture(dir, Clock.systemUTC());
  }

  @AfterEach
  void stop() {
    f.close();
  }

  @Test
  void aRevokedIntermediateIsOnItsParentsCrlAndOcspAndSignsNothingNew() throws Exception {
    IssuerInfo root = f.pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    IssuerInfo inter = f.pki.generateIntermediate("Issuing", null, Duration.ofDays(10), root.id());
    f.pki.writeRole(WEB);
    IssuedCertificate leaf = f.pki.signCsr("web", PkiFixture.csr("api.example.com"), Optional.empty(),
        Optional.of(inter.id()));
    String serial = new X509CertificateHolder(inter.certificateDer()).getSerialNumber().toString(16);
    assertTrue(f.pki.listCertificates().contains(serial), "the intermediate is kept like any certificate");
    f.write("root.pem", root.certificatePem());
    f.write("inter.pem", inter.certificatePem());
    f.write("leaf.pem", Pem.certificate(leaf.certificateDer()));
    f.opensslOk("verify", "-CAfile", "root.pem", "-untrusted", "inter.pem", "leaf.pem");

    RevokedCertificate r = f.pki.revoke(serial, 1); // keyCompromise
    assertEquals(root.id(), r.issuerId(), "the parent revokes it");
    assertEquals(List.of(serial), f.pki.listRevoked(root.id(), "", 100).stream().map(RevokedCertificate::serialHex)
        .toList());
    X509CRLHolder rootCrl = new X509CRLHolder(f.pki.crl(root.id()));
    assertTrue(rootCrl.getRevokedCertificate(new java.math.BigInteger(serial, 16)) != null);
    org.bouncycastle.cert.ocsp.CertificateID id = new org.bouncycastle.cert.ocsp.CertificateID(
        new org.bouncycastle.operator.bc.BcDigestCalculatorProvider().get(
            org.bouncycastle.cert.ocsp.CertificateID.HASH_SHA1),
        new X509CertificateHolder(root.certificateDer()), new java.math.BigInteger(serial, 16));
    org.bouncycastle.cert.ocsp.OCSPReq request = new org.bouncycastle.cert.ocsp.OCSPReqBuilder().addRequest(id).build();
    org.bouncycastle.cert.ocsp.BasicOCSPResp answer = (org.bouncycastle.cert.ocsp.BasicOCSPResp)
        new org.bouncycastle.cert.ocsp.OCSPResp(f.pki.ocsp(request.getEncoded())).getResponseObject();
    assertTrue(answer.getResponses()[0].getCertStatus() instanceof org.bouncycastle.cert.ocsp.RevokedStatus,
        "the root's OCSP responder says the intermediate is revoked");

    // The chain's CRLs, the issuer's first, then its parent's (which lists the revoked intermediate).
    List<byte[]> chain = f.pki.crlChain(inter.id());
    assertEquals(2, chain.size());
    assertEquals(new X509CertificateHolder(inter.certificateDer()).getSubject(),
        new X509CRLHolder(chain.get(0)).getIssuer());
    assertTrue(new X509CRLHolder(chain.get(1)).getRevokedCertificate(new java.math.BigInteger(serial, 16)) != null);
    assertEquals(1, f.pki.crlChain(root.id()).size(), "a root's chain is its own CRL");

    // OpenSSL, checking the whole chain against both CRLs, refuses the leaf because its issuer is revoked.
    f.write("crls.pem", Pem.block("X509 CRL", chain.get(0)) + Pem.block("X509 CRL", chain.get(1)));
    PkiFixture.Run verify = f.openssl("verify", "-crl_check_all", "-CRLfile", "crls.pem", "-CAfile", "root.pem",
        "-untrusted", "inter.pem", "leaf.pem");
    assertTrue(verify.exit() != 0 && verify.out().contains("certificate revoked"), verify.out());

    // It signs nothing new, named or as the default, and the message says what to do.
    f.pki.setDefault(inter.id());
    String why = PkiFixture.refusal(() -> f.pki.signCsr("web", PkiFixture.csr("b.example.com"), Optional.empty(),
        Optional.empty())).getMessage();
    assertTrue(why.contains("'" + inter.id() + "' is revoked") && why.contains("rotate"), why);
    assertEquals(Kind.FAILED_PRECONDITION, PkiFixture.refusal(() -> f.pki.signCsr("web",
        PkiFixture.csr("b.example.com"), Optional.empty(), Optional.of(inter.id()))).kind());
    assertTrue(f.pki.issuer(inter.id()).revokedAt().isPresent());

    // Its own CRL still answers for what it issued, and a rotation gives a working successor.
    assertTrue(f.pki.crl(inter.id()).length > 0);
    IssuerInfo next = f.pki.rotateIssuer(inter.id(), Optional.empty());
    assertTrue(next.revokedAt().isEmpty());
    f.pki.signCsr("web", PkiFixture.csr("c.example.com"), Optional.empty(), Optional.empty());

    f.restart();
    assertTrue(f.pki.issuer(inter.id()).revokedAt().isPresent(), "kept across a restart");
    assertEquals(1, f.pki.listRevoked(root.id(), "", 100).size());
    String text = new String(f.pki.crl(root.id()), UTF_8);
    assertTrue(text.length() > 0);
  }
}
