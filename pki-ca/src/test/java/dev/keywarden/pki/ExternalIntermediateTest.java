package dev.keywarden.pki;

import static dev.keywarden.pki.PkiFixture.crlNumber;
import static dev.keywarden.pki.PkiFixture.csr;
import static dev.keywarden.pki.PkiFixture.refusal;
import static dev.keywarden.pki.PkiFixture.x509;
import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.encoding.Pem;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.storage.StoredJson;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An intermediate whose key is in the HSM, signed by a root outside Keywarden: OpenSSL plays that root (a client no
 * one here wrote), signs the CSR the engine made in the HSM, and verifies what the intermediate then issues.
 */
class ExternalIntermediateTest {
  static final String CA_EXTENSIONS = "basicConstraints=critical,CA:true,pathlen:0\n"
      + "keyUsage=critical,keyCertSign,cRLSign\n";
  static final Role WEB = Role.builder("web").allowedDomains("example.com").allowSubdomains(true).serverFlag(true)
      .clientFlag(true).ttl(Duration.ofHours(1)).maxTtl(Duration.ofHours(2)).build();

  @TempDir
  Path dir;

  MutableClock clock;
  PkiFixture f;
  PkiEngine pki;
  Path rootPem;
  Path rootKey;

  @BeforeEach
  void start() throws Exception {
    clock = MutableClock.running();
    f = new PkiFixture(dir, clock);
    pki = f.pki;
    rootKey = dir.resolve("root.key");
    rootPem = dir.resolve("root.pem");
    f.opensslOk("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        rootKey.toString(), "-out", rootPem.toString(), "-subj", "/CN=External Root", "-days", "30");
  }

  @AfterEach
  void stop() {
    f.close();
  }

  /** OpenSSL, as the external root, signs {@code csrPem} with these extensions; returns the certificate file. */
  Path signWithExternalRoot(String name, String csrPem, String extensions, int days) throws Exception {
    Path csr = f.write(name + ".csr", csrPem);
    Path ext = f.write(name + ".ext", extensions);
    Path out = dir.resolve(name + ".pem");
    f.opensslOk("x509", "-req", "-in", csr.toString(), "-CA", rootPem.toString(), "-CAkey", rootKey.toString(),
        "-extfile", ext.toString(), "-days", String.valueOf(days), "-out", out.toString());
    return out;
  }

  @Test
  void opensslRootSignsTheHsmMadeCsrAndVerifiesLeavesAndCrlsOfTheIntermediate() throws Exception {
    IssuerInfo pending = pki.generateExternalIntermediate("Keywarden Issuing CA", KeyType.EC_P256,
        Optional.of("http://127.0.0.1:8401"), false);
    assertEquals(IssuerState.PENDING, pending.state());
    assertTrue(pending.external());
    assertEquals(0, pending.certificateDer().length);
    assertFalse(pending.isDefault(), "a pending issuer is never the default");
    String csrPem = pending.csrPem().orElseThrow();
    String csrText = f.opensslOk("req", "-in", f.write("check.csr", csrPem).toString(), "-verify", "-noout",
        "-text");
    assertTrue(csrText.contains("CN = Keywarden Issuing CA"), csrText);
    assertTrue(csrText.contains("CA:TRUE"), "the CSR asks for a CA certificate: " + csrText);
    assertTrue(f.privateKeysOnToken().contains("pki-issuer-" + pending.id()), "the key is in the HSM");

    Path intPem = signWithExternalRoot("int", csrPem, CA_EXTENSIONS, 10);
    IssuerInfo active = pki.setSignedIntermediate(pending.id(), Files.readString(intPem),
        List.of(Files.readString(rootPem)));
    assertEquals(IssuerState.ACTIVE, active.state());
    assertTrue(active.isDefault(), "the first issuer to become active is the default");
    assertEquals(Optional.empty(), active.parentId());
    assertEquals(2, pki.issuerChain(active.id()).size(), "the chain served includes the external root");

    pki.writeRole(WEB);
    IssuedCertificate leaf = pki.signCsr("web", csr("api.example.com"), Optional.empty(), Optional.empty());
    assertEquals(active.id(), leaf.issuerId());
    assertEquals(2, leaf.chainDer().size(), "intermediate, then the external root");
    Path leafPem = f.write("leaf.pem", leaf.certificatePem());
    String verified = f.opensslOk("verify", "-CAfile", rootPem.toString(), "-untrusted", intPem.toString(),
        leafPem.toString());
    assertTrue(verified.contains(": OK"), verified);
    assertTrue(f.opensslOk("x509", "-in", leafPem.toString(), "-noout", "-text")
        .contains("http://127.0.0.1:8401/v1/pki/issuer/" + active.id() + "/crl"), "the leaf names our CRL");

    pki.revoke(leaf.serialHex(), 1);
    Path crl = f.write("int.crl.pem", Pem.block("X509 CRL", pki.crl(active.id())));
    Path chain = f.write("chain.pem", Files.readString(intPem) + Files.readString(rootPem));
    String crlCheck = f.opensslOk("crl", "-in", crl.toString(), "-CAfile", chain.toString(), "-noout", "-text");
    assertTrue(crlCheck.contains("verify OK"), crlCheck);
    assertTrue(crlCheck.toUpperCase().contains(leaf.serialHex().toUpperCase()), crlCheck);
  }

  @Test
  void aPendingIssuerIssuesNothingSignsNoCrlAndCannotBeTheDefault() throws Exception {
    pki.generateRoot("Internal Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    IssuerInfo pending = pki.generateExternalIntermediate("Issuing", KeyType.EC_P256, Optional.empty(), true);
    pki.writeRole(WEB);
    for (Runnable r : List.<Runnable>of(
        () -> pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.of(pending.id())),
        () -> pki.issue("web", RequestedNames.commonName("a.example.com"), Optional.empty(),
            Optional.of(pending.id())),
        () -> pki.crl(pending.id()),
        () -> pki.issuerChain(pending.id()),
        () -> pki.rotateIssuer(pending.id(), Optional.empty()))) {
      KeywardenException e = refusal(r);
      assertEquals(Kind.FAILED_PRECONDITION, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains(pending.id()) && e.getMessage().contains("SetSignedIntermediate"),
          e.getMessage());
    }
    assertEquals(Kind.FAILED_PRECONDITION, refusal(() -> pki.setDefault(pending.id())).kind());
    assertEquals(Kind.FAILED_PRECONDITION, refusal(() -> pki.generateIntermediate("Under pending",
        KeyType.EC_P256, Duration.ofDays(1), pending.id())).kind());
    assertTrue(pki.refreshCrls().stream().noneMatch(pending.id()::equals), "no CRL for a pending issuer");
  }

  @Test
  void setSignedIntermediateRefusesWhatDoesNotFitAndStoresNothingUntilACertificateDoes() throws Exception {
    IssuerInfo pending = pki.generateExternalIntermediate("Issuing", KeyType.EC_P256, Optional.empty(), false);
    String root = Files.readString(rootPem);

    Path otherKeyCsr = dir.resolve("other.csr");
    f.opensslOk("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        dir.resolve("other.key").toString(), "-out", otherKeyCsr.toString(), "-subj", "/CN=Issuing");
    assertRefused(pending.id(), signWithExternalRoot("other", Files.readString(otherKeyCsr), CA_EXTENSIONS, 10),
        root, "public key is not the key of pending issuer");
    String csrPem = pending.csrPem().orElseThrow();
    assertRefused(pending.id(), signWithExternalRoot("leafish", csrPem, "basicConstraints=critical,CA:false\n", 10),
        root, "not a CA certificate");
    assertRefused(pending.id(), signWithExternalRoot("nosign", csrPem,
        "basicConstraints=critical,CA:true\nkeyUsage=critical,digitalSignature\n", 10), root, "keyCertSign");
    Path good = signWithExternalRoot("int", csrPem, CA_EXTENSIONS, 1);
    assertRefused(pending.id(), f.write("garbage.pem", "not a certificate"), root, "no PEM certificate");
    assertRefused(pending.id(), f.write("csr-instead.pem", csrPem), root, "PEM certificate");
    KeywardenException badChain = refusal(() -> pki.setSignedIntermediate(pending.id(), read(good),
        List.of(read(good))));
    assertEquals(Kind.INVALID_ARGUMENT, badChain.kind());
    assertTrue(badChain.getMessage().contains("chain_pem"), badChain.getMessage());
    clock.advance(Duration.ofDays(2));
    assertRefused(pending.id(), good, root, "expired");
    clock.advance(Duration.ofDays(-2));

    IssuerInfo still = pki.issuer(pending.id());
    assertEquals(IssuerState.PENDING, still.state(), "nothing half-stored");
    assertEquals(0, still.certificateDer().length);
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.setSignedIntermediate("0123456789abcdef", read(good),
        List.of(root))).kind());

    assertEquals(IssuerState.ACTIVE, pki.setSignedIntermediate(pending.id(), read(good), List.of(root)).state());
    KeywardenException twice = refusal(() -> pki.setSignedIntermediate(pending.id(), read(good), List.of(root)));
    assertEquals(Kind.FAILED_PRECONDITION, twice.kind());
    assertTrue(twice.getMessage().contains("not pending"), twice.getMessage());
  }

  private void assertRefused(String id, Path certificate, String chain, String messagePart) throws Exception {
    String pem = Files.readString(certificate);
    KeywardenException e = refusal(() -> pki.setSignedIntermediate(id, pem, List.of(chain)));
    assertEquals(Kind.INVALID_ARGUMENT, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains(messagePart), e.getMessage());
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void rotatingAnExternalIntermediateGivesANewCsrAndRetiresTheOldOneOnlyOnceTheNewOneIsSigned() throws Exception {
    IssuerInfo first = pki.generateExternalIntermediate("Issuing", KeyType.EC_P256, Optional.empty(), false);
    String root = Files.readString(rootPem);
    pki.setSignedIntermediate(first.id(), read(signWithExternalRoot("first", first.csrPem().orElseThrow(),
        CA_EXTENSIONS, 10)), List.of(root));
    pki.writeRole(WEB);
    KeywardenException ttl = refusal(() -> pki.rotateIssuer(first.id(), Optional.of(Duration.ofDays(1))));
    assertEquals(Kind.INVALID_ARGUMENT, ttl.kind(), "the external CA decides the lifetime");

    IssuerInfo next = pki.rotateIssuer(first.id(), Optional.empty());
    assertEquals(IssuerState.PENDING, next.state());
    assertEquals(Optional.of(first.id()), next.replaces());
    PKCS10CertificationRequest request = new PKCS10CertificationRequest(
        new org.bouncycastle.util.io.pem.PemReader(new java.io.StringReader(next.csrPem().orElseThrow()))
            .readPemObject().getContent());
    assertEquals("CN=Issuing", request.getSubject().toString(), "the same subject");
    IssuerInfo old = pki.issuer(first.id());
    assertEquals(IssuerState.ACTIVE, old.state(), "the old one issues until the new one is signed");
    assertEquals(Optional.of(next.id()), old.replacedBy());
    assertTrue(old.isDefault());
    assertEquals(first.id(), pki.signCsr("web", csr("a.example.com"), Optional.empty(), Optional.empty())
        .issuerId());
    KeywardenException again = refusal(() -> pki.rotateIssuer(first.id(), Optional.empty()));
    assertEquals(Kind.FAILED_PRECONDITION, again.kind());
    assertTrue(again.getMessage().contains(next.id()), again.getMessage());

    Path nextPem = signWithExternalRoot("next", next.csrPem().orElseThrow(), CA_EXTENSIONS, 10);
    IssuerInfo active = pki.setSignedIntermediate(next.id(), read(nextPem), List.of(root));
    assertTrue(active.isDefault(), "the successor of the default becomes the default");
    assertEquals(IssuerState.RETIRED, pki.issuer(first.id()).state());
    IssuedCertificate leaf = pki.signCsr("web", csr("b.example.com"), Optional.empty(), Optional.empty());
    assertEquals(next.id(), leaf.issuerId());
    assertTrue(f.opensslOk("verify", "-CAfile", rootPem.toString(), "-untrusted", nextPem.toString(),
        f.write("b.pem", leaf.certificatePem()).toString()).contains(": OK"));
    KeywardenException retired = refusal(() -> pki.signCsr("web", csr("c.example.com"), Optional.empty(),
        Optional.of(first.id())));
    assertEquals(Kind.FAILED_PRECONDITION, retired.kind());
    assertTrue(retired.getMessage().contains(next.id()), "names the successor: " + retired.getMessage());
    assertTrue(crlNumber(pki.crl(first.id())) > 0, "the retired issuer still publishes its CRL");
  }

  @Test
  void deletingAPendingIssuerRemovesItAndDestroysItsKey() throws Exception {
    IssuerInfo root = pki.generateRoot("Internal Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    IssuerInfo pending = pki.generateExternalIntermediate("Abandoned", KeyType.EC_P256, Optional.empty(), true);
    String label = "pki-issuer-" + pending.id();
    assertTrue(f.privateKeysOnToken().contains(label));

    assertEquals(new DeletedIssuer(pending.id(), Optional.empty(), true, Optional.empty()),
        pki.deleteIssuer(pending.id()));
    assertFalse(f.privateKeysOnToken().contains(label), "its HSM key is destroyed");
    assertEquals(List.of(root.id()), pki.issuers().stream().map(IssuerInfo::id).toList());
    assertTrue(pki.issuer(root.id()).isDefault());
    for (Runnable r : List.<Runnable>of(() -> pki.issuer(pending.id()), () -> pki.deleteIssuer(pending.id()),
        () -> pki.setSignedIntermediate(pending.id(), "not read", List.of()))) {
      KeywardenException e = refusal(r);
      assertEquals(Kind.NOT_FOUND, e.kind(), e.getMessage());
    }
    assertEquals(Kind.INVALID_ARGUMENT, refusal(() -> pki.deleteIssuer("a/b")).kind());
  }

  @Test
  void aPendingIssuerWhoseKeyIsAlreadyGoneIsDeletedWithANote() throws Exception {
    IssuerInfo pending = pki.generateExternalIntermediate("Abandoned", KeyType.EC_P256, Optional.empty(), false);
    StoredIssuer stored = StoredJson.read(f.storage.get(PkiEngine.ISSUERS + pending.id()).orElseThrow().value(),
        StoredIssuer.class);
    f.core.unsealed().hsm().destroyKey(stored.keyId()); // an operator cleaned the token by hand

    DeletedIssuer deleted = pki.deleteIssuer(pending.id());
    assertFalse(deleted.keyDestroyed());
    assertTrue(deleted.keyNote().orElseThrow().contains("'pki-issuer-" + pending.id() + "'"),
        deleted.keyNote().orElseThrow());
    assertEquals(Kind.NOT_FOUND, refusal(() -> pki.issuer(pending.id())).kind(), "deleted all the same");
  }

  @Test
  void deletingAPendingSuccessorLetsTheOldIssuerBeRotatedAgain() throws Exception {
    IssuerInfo first = pki.generateExternalIntermediate("Issuing", KeyType.EC_P256, Optional.empty(), false);
    String root = Files.readString(rootPem);
    pki.setSignedIntermediate(first.id(), read(signWithExternalRoot("first", first.csrPem().orElseThrow(),
        CA_EXTENSIONS, 10)), List.of(root));
    IssuerInfo abandoned = pki.rotateIssuer(first.id(), Optional.empty());
    assertEquals(Kind.FAILED_PRECONDITION, refusal(() -> pki.rotateIssuer(first.id(), Optional.empty())).kind(),
        "already being rotated");
    KeywardenException active = refusal(() -> pki.deleteIssuer(first.id()));
    assertEquals(Kind.FAILED_PRECONDITION, active.kind());
    assertTrue(active.getMessage().contains("delete '" + abandoned.id() + "' to cancel it"), active.getMessage());

    DeletedIssuer deleted = pki.deleteIssuer(abandoned.id());
    assertEquals(new DeletedIssuer(abandoned.id(), Optional.of(first.id()), true, Optional.empty()), deleted);
    assertFalse(f.privateKeysOnToken().contains("pki-issuer-" + abandoned.id()), "its HSM key is destroyed");
    IssuerInfo old = pki.issuer(first.id());
    assertEquals(IssuerState.ACTIVE, old.state());
    assertEquals(Optional.empty(), old.replacedBy(), "no longer being rotated");
    assertTrue(old.isDefault());

    IssuerInfo next = pki.rotateIssuer(first.id(), Optional.empty());
    assertEquals(Optional.of(next.id()), pki.issuer(first.id()).replacedBy());
    pki.setSignedIntermediate(next.id(), read(signWithExternalRoot("next", next.csrPem().orElseThrow(),
        CA_EXTENSIONS, 10)), List.of(root));
    assertEquals(IssuerState.RETIRED, pki.issuer(first.id()).state());
    assertEquals(Optional.of(next.id()), pki.issuer(first.id()).replacedBy());
    assertTrue(pki.issuer(next.id()).isDefault());
    assertEquals(List.of(first.id(), next.id()).stream().sorted().toList(),
        pki.issuers().stream().map(IssuerInfo::id).sorted().toList());
  }

  @Test
  void anExternalIntermediateAskedToBeTheDefaultTakesOverWhenSigned() throws Exception {
    IssuerInfo root = pki.generateRoot("Internal Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    IssuerInfo pending = pki.generateExternalIntermediate("Issuing", KeyType.EC_P256, Optional.empty(), true);
    assertTrue(pki.issuer(root.id()).isDefault(), "still the root while the intermediate is pending");
    pki.setSignedIntermediate(pending.id(), read(signWithExternalRoot("int", pending.csrPem().orElseThrow(),
        CA_EXTENSIONS, 10)), List.of());
    assertTrue(pki.issuer(pending.id()).isDefault());
    assertEquals(1, pki.issuerChain(pending.id()).size(), "no chain given: the intermediate alone");
  }
}
