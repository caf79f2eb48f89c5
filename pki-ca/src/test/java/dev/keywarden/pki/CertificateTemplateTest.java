package dev.keywarden.pki;

import static dev.keywarden.pki.TestKeys.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.IpLiterals;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateTemplateTest {
  private static final String BASE = "https://kw.example.net:8200";
  private static final Role WEB = Role.builder("web").serverFlag(true).clientFlag(true).allowedDomains("example.com")
      .allowSubdomains(true).allowIpSans(true).allowedUriSans("spiffe://example.org/ns/*/sa/*")
      .organization("Keywarden").organizationalUnit("Platform").country("DE").maxTtl(Duration.ofHours(72)).build();

  private static final CertificateTemplate TEMPLATE = new CertificateTemplate(Clock.systemUTC(), new SecureRandom());
  private static KeyPair rootKey;
  private static X509CertificateHolder root;
  private static Issuer issuer;

  @TempDir Path dir;

  @BeforeAll
  static void makeRoot() throws Exception {
    rootKey = ec("secp256r1");
    root = TEMPLATE.selfSignedRoot(new X500Name("CN=Keywarden Test Root,O=Keywarden"), spki(rootKey),
        Duration.ofHours(2), Optional.of(1), signer(rootKey));
    issuer = new Issuer("root-1", root, Optional.of(BASE + "/"));
  }

  private static SubjectPublicKeyInfo spki(KeyPair k) {
    return SubjectPublicKeyInfo.getInstance(k.getPublic().getEncoded());
  }

  private static X509Certificate jdk(X509CertificateHolder h) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(h.getEncoded()));
  }

  private static RequestedNames names() {
    return new RequestedNames(Optional.of("api.example.com"), List.of("b.example.com"),
        List.of(IpLiterals.parse("10.1.2.3"), IpLiterals.parse("2001:db8::1")),
        List.of(URI.create("spiffe://example.org/ns/prod/sa/api")));
  }

  private X509CertificateHolder leaf(KeyPair k, Optional<Duration> ttl) throws Exception {
    return TEMPLATE.issueLeaf(issuer, WEB, spki(k), k.getPublic().getAlgorithm().equals("RSA"), names(), ttl,
        signer(rootKey));
  }

  private Path pem(String name, X509CertificateHolder cert) throws Exception {
    String b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(cert.getEncoded());
    Path p = dir.resolve(name);
    Files.writeString(p, "-----BEGIN CERTIFICATE-----\n" + b64 + "\n-----END CERTIFICATE-----\n");
    return p;
  }

  private static String openssl(String... args) throws Exception {
    String[] cmd = new String[args.length + 1];
    cmd[0] = "openssl";
    System.arraycopy(args, 0, cmd, 1, args.length);
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (java.io.IOException e) {
      Assumptions.abort("openssl is not installed");
      throw e;
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  @Test
  void leafVerifiesWithTheJdkUnderTheRoot() throws Exception {
    for (KeyPair k : new KeyPair[] {ec("secp256r1"), ed25519(), rsa(2048)}) {
      X509Certificate cert = jdk(leaf(k, Optional.of(Duration.ofHours(1))));
      cert.verify(jdk(root).getPublicKey());
      cert.checkValidity();
      assertEquals(jdk(root).getSubjectX500Principal(), cert.getIssuerX500Principal());
      assertEquals(-1, cert.getBasicConstraints());
      assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), cert.getExtendedKeyUsage());
      assertTrue(cert.getKeyUsage()[0]);
      assertEquals(k.getPublic().getAlgorithm().equals("RSA"), cert.getKeyUsage()[2]);
      assertTrue(cert.getSubjectX500Principal().getName().contains("CN=api.example.com"));
      assertTrue(cert.getSubjectX500Principal().getName().contains("O=Keywarden"));
    }
  }

  @Test
  void opensslVerifiesTheLeafAndSeesSansEkusCrlAndAia() throws Exception {
    X509CertificateHolder leaf = leaf(ec("secp256r1"), Optional.empty());
    Path rootPem = pem("root.pem", root);
    Path leafPem = pem("leaf.pem", leaf);
    assertTrue(openssl("verify", "-CAfile", rootPem.toString(), "-purpose", "sslserver", leafPem.toString())
        .contains("leaf.pem: OK"));
    openssl("verify", "-CAfile", rootPem.toString(), "-purpose", "sslclient", leafPem.toString());
    String text = openssl("x509", "-in", leafPem.toString(), "-noout", "-text");
    for (String expected : List.of("DNS:api.example.com", "DNS:b.example.com", "IP Address:10.1.2.3",
        "IP Address:2001:DB8:0:0:0:0:0:1", "URI:spiffe://example.org/ns/prod/sa/api",
        "TLS Web Server Authentication, TLS Web Client Authentication", "CA:FALSE",
        "X509v3 Key Usage: critical", "Digital Signature",
        "URI:" + BASE + "/v1/pki/issuer/root-1/crl", "OCSP - URI:" + BASE + "/v1/pki/ocsp",
        "CA Issuers - URI:" + BASE + "/v1/pki/issuer/root-1/der", "X509v3 Authority Key Identifier",
        "X509v3 Subject Key Identifier", "C = DE, O = Keywarden, OU = Platform, CN = api.example.com")) {
      assertTrue(text.contains(expected), expected + " missing from\n" + text);
    }
    assertFalse(text.contains("Key Encipherment"), text);
  }

  @Test
  void lifetimeIsCutToTheIssuersNotAfter() throws Exception {
    // Default ttl is 24h; the root lives 2h.
    X509CertificateHolder leaf = leaf(ec("secp256r1"), Optional.empty());
    assertEquals(root.getNotAfter(), leaf.getNotAfter());
    String dates = openssl("x509", "-in", pem("leaf.pem", leaf).toString(), "-noout", "-enddate");
    String rootDates = openssl("x509", "-in", pem("root.pem", root).toString(), "-noout", "-enddate");
    assertEquals(rootDates, dates);
  }

  @Test
  void lifetimeIsTheTtlAndNotBeforeIsBackdatedWithinTheIssuer() throws Exception {
    Instant before = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    X509CertificateHolder leaf = leaf(ec("secp256r1"), Optional.of(Duration.ofMinutes(30)));
    Instant nb = leaf.getNotBefore().toInstant();
    Instant na = leaf.getNotAfter().toInstant();
    assertFalse(nb.isBefore(root.getNotBefore().toInstant()));
    assertFalse(nb.isAfter(before));
    assertTrue(Duration.between(before, na).compareTo(Duration.ofMinutes(31)) < 0);
    assertTrue(Duration.between(before, na).compareTo(Duration.ofMinutes(29)) > 0);
  }

  @Test
  void ttlAboveMaxTtlIsRefusedStatingBoth() throws Exception {
    KeywardenException e = assertThrows(KeywardenException.class, () -> leaf(ec("secp256r1"),
        Optional.of(Duration.ofHours(73))));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals("requested ttl 73h is above role 'web' max_ttl 72h", e.getMessage());
  }

  @Test
  void leafNamesAreCheckedAgainstTheRoleEvenWhenTheCallerForgot() throws Exception {
    KeyPair k = ec("secp256r1");
    KeywardenException e = assertThrows(KeywardenException.class, () -> TEMPLATE.issueLeaf(issuer, WEB, spki(k),
        false, RequestedNames.commonName("evil.com"), Optional.empty(), signer(rootKey)));
    assertTrue(e.getMessage().startsWith("'evil.com' is not allowed by role 'web'"), e.getMessage());
  }

  @Test
  void aSignerWithoutTheIssuersKeyIsCaught() throws Exception {
    KeyPair k = ec("secp256r1");
    assertThrows(IllegalStateException.class, () -> TEMPLATE.issueLeaf(issuer, WEB, spki(k), false, names(),
        Optional.empty(), signer(ec("secp256r1"))));
  }

  /** An HsmSigner over a software key whose signatures can be made faulty (a flipped bit) from a given call on. */
  private static final class FaultyHsmSigner implements dev.keywarden.hsm.HsmSigner {
    final KeyPair key;
    final dev.keywarden.hsm.KeyPairAlgorithm algorithm;
    volatile boolean faulty;
    final java.util.concurrent.atomic.AtomicInteger signatures = new java.util.concurrent.atomic.AtomicInteger();

    FaultyHsmSigner(KeyPair key, dev.keywarden.hsm.KeyPairAlgorithm algorithm) {
      this.key = key;
      this.algorithm = algorithm;
    }

    @Override
    public dev.keywarden.hsm.HsmKeyId id() {
      return new dev.keywarden.hsm.HsmKeyId("test-" + algorithm, "0a0b");
    }

    @Override
    public dev.keywarden.hsm.KeyPairAlgorithm algorithm() {
      return algorithm;
    }

    @Override
    public java.security.PublicKey publicKey() {
      return key.getPublic();
    }

    @Override
    public byte[] sign(dev.keywarden.hsm.SignatureAlgorithm alg, byte[] message) {
      signatures.incrementAndGet();
      try {
        java.security.Signature s = java.security.Signature.getInstance(alg.jcaName(), BC);
        s.initSign(key.getPrivate());
        s.update(message);
        byte[] sig = s.sign();
        if (faulty) {
          sig[sig.length / 2] ^= 1;
        }
        return sig;
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private static Issuer issuerOf(KeyPair k, String id) throws Exception {
    return new Issuer(id, TEMPLATE.selfSignedRoot(new X500Name("CN=" + id), spki(k), Duration.ofHours(1),
        Optional.empty(), signer(k)), Optional.empty());
  }

  @Test
  void anHsmSignerWithoutTheIssuersKeyIsCaughtOnItsFirstSignature() throws Exception {
    CertificateTemplate template = new CertificateTemplate(Clock.systemUTC(), new SecureRandom());
    Issuer is = issuerOf(ec("secp256r1"), "hsm-ec-wrong");
    FaultyHsmSigner other = new FaultyHsmSigner(ec("secp256r1"), dev.keywarden.hsm.KeyPairAlgorithm.EC_P256);
    SubjectPublicKeyInfo leafKey = spki(ec("secp256r1"));
    for (int i = 0; i < 3; i++) { // never proven, so checked again every time
      assertThrows(IllegalStateException.class, () -> template.issueLeaf(is, WEB, leafKey, false,
          names(), Optional.empty(), new HsmContentSigner(other, dev.keywarden.hsm.SignatureAlgorithm.ECDSA_SHA256)));
    }
  }

  @Test
  void anEcHsmSignerIsCheckedUntilProvenAndAgainAfterTheTemplateForgetsIt() throws Exception {
    CertificateTemplate template = new CertificateTemplate(Clock.systemUTC(), new SecureRandom());
    KeyPair k = ec("secp256r1");
    Issuer is = issuerOf(k, "hsm-ec");
    FaultyHsmSigner hsm = new FaultyHsmSigner(k, dev.keywarden.hsm.KeyPairAlgorithm.EC_P256);
    java.util.function.Supplier<X509CertificateHolder> issue = () -> template.issueLeaf(is, WEB,
        spki(k), false, names(), Optional.empty(),
        new HsmContentSigner(hsm, dev.keywarden.hsm.SignatureAlgorithm.ECDSA_SHA256));
    hsm.faulty = true;
    assertThrows(IllegalStateException.class, issue::get); // a faulty first signature never proves the signer
    hsm.faulty = false;
    X509CertificateHolder first = issue.get();
    assertTrue(first.isSignatureValid(new org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder()
        .setProvider(BC).build(k.getPublic())));
    template.forgetProvenSigners(); // as on seal
    hsm.faulty = true;
    assertThrows(IllegalStateException.class, issue::get);
  }

  @Test
  void everyRsaHsmSignatureIsChecked() throws Exception {
    CertificateTemplate template = new CertificateTemplate(Clock.systemUTC(), new SecureRandom());
    KeyPair k = rsa(2048);
    Issuer is = issuerOf(k, "hsm-rsa");
    FaultyHsmSigner hsm = new FaultyHsmSigner(k, dev.keywarden.hsm.KeyPairAlgorithm.RSA_2048);
    SubjectPublicKeyInfo leafKey = spki(ec("secp256r1"));
    java.util.function.Supplier<X509CertificateHolder> issue = () -> template.issueLeaf(is, WEB,
        leafKey, false, names(), Optional.empty(),
        new HsmContentSigner(hsm, dev.keywarden.hsm.SignatureAlgorithm.RSA_PKCS1_SHA256));
    issue.get();
    issue.get();
    hsm.faulty = true; // a faulty RSA-CRT signature would reveal the key: refused even from a proven signer
    assertThrows(IllegalStateException.class, issue::get);
  }

  @Test
  void intermediateChainsToTheRootForOpenssl() throws Exception {
    KeyPair interKey = ec("secp384r1");
    X509CertificateHolder inter = TEMPLATE.intermediate(issuer, new X500Name("CN=Keywarden Test Issuing CA"),
        spki(interKey), Duration.ofDays(365), Optional.of(0), signer(rootKey));
    assertEquals(root.getNotAfter(), inter.getNotAfter());
    Issuer issuing = new Issuer("issuing-1", inter, Optional.of(BASE));
    KeyPair k = ed25519();
    X509CertificateHolder leaf = TEMPLATE.issueLeaf(issuing, WEB, spki(k), false, names(), Optional.empty(),
        new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA384withECDSA").setProvider(BC)
            .build(interKey.getPrivate()));
    String out = openssl("verify", "-CAfile", pem("root.pem", root).toString(), "-untrusted",
        pem("inter.pem", inter).toString(), pem("leaf.pem", leaf).toString());
    assertTrue(out.contains("leaf.pem: OK"), out);
    String text = openssl("x509", "-in", pem("inter.pem", inter).toString(), "-noout", "-text");
    assertTrue(text.contains("CA:TRUE, pathlen:0"), text);
    assertTrue(text.contains("Certificate Sign, CRL Sign"), text);
    assertTrue(text.contains("URI:" + BASE + "/v1/pki/issuer/root-1/crl"), text);
    assertEquals(1, jdk(root).getBasicConstraints());
  }

  @Test
  void noBaseUrlMeansNoCrlOrAia() throws Exception {
    Issuer bare = new Issuer("root-1", root, Optional.empty());
    KeyPair k = ec("secp256r1");
    X509Certificate cert = jdk(TEMPLATE.issueLeaf(bare, WEB, spki(k), false, names(), Optional.empty(),
        signer(rootKey)));
    assertNull(cert.getExtensionValue("2.5.29.31"));
    assertNull(cert.getExtensionValue("1.3.6.1.5.5.7.1.1"));
  }

  @Test
  void serialsArePositiveAtLeast128BitsAndDistinct() throws Exception {
    Set<BigInteger> seen = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      BigInteger s = TEMPLATE.newSerial();
      assertEquals(1, s.signum());
      assertTrue(s.bitLength() >= 128 && s.bitLength() <= 159, s.toString(16));
      assertTrue(seen.add(s), "duplicate serial");
    }
    BigInteger serial = leaf(ec("secp256r1"), Optional.empty()).getSerialNumber();
    assertEquals(159, serial.bitLength());
    assertEquals(20, jdk(root).getSerialNumber().toByteArray().length);
  }

  @Test
  void validityTimesAreUtcTimeThrough2049AndGeneralizedTimeFrom2050AsBouncyCastleWritesThem() throws Exception {
    for (String t : List.of("1999-12-31T23:59:59Z", "2026-02-28T01:02:03Z", "2049-12-31T23:59:59Z",
        "2050-01-01T00:00:00Z", "2107-07-04T12:00:09Z")) {
      Instant instant = Instant.parse(t);
      org.bouncycastle.asn1.x509.Time written = CertificateTemplate.time(instant.plusMillis(999));
      org.bouncycastle.asn1.x509.Time expected = new org.bouncycastle.asn1.x509.Time(java.util.Date.from(instant));
      assertArrayEquals(expected.getEncoded("DER"), written.getEncoded("DER"), t);
      assertEquals(instant, written.getDate().toInstant(), t);
    }
  }
}
