package dev.keywarden.pki;

import static dev.keywarden.testing.Generators.stringsOver;
import static dev.keywarden.testing.Generators.unicodeStrings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import dev.keywarden.names.IpLiterals;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLDistPoint;
import org.bouncycastle.asn1.x509.DistributionPoint;
import org.bouncycastle.asn1.x509.DistributionPointName;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.bc.BcX509ExtensionUtils;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * The leaf encoder against its oracle, Bouncy Castle's X509v3CertificateBuilder fed the same contents (the way
 * CertificateTemplate built leaves before), over generated roles, names, keys and issuers: the same bytes, every
 * time. Ed25519 issuers sign deterministically, so whole certificates compare; ECDSA ones compare their TBS. The
 * JDK's CertificateFactory parses every one, and openssl some, as checks independent of Bouncy Castle.
 */
class LeafEncoderTest {
  private static final Clock CLOCK = Clock.systemUTC();
  private static final CertificateTemplate TEMPLATE = new CertificateTemplate(CLOCK, new SecureRandom());
  private static final BcX509ExtensionUtils EXT = new BcX509ExtensionUtils();

  /** An issuer and the key that signs for it. */
  private record Signing(Issuer issuer, KeyPair key, String algorithm) {
    ContentSigner signer() throws Exception {
      return new JcaContentSignerBuilder(algorithm).build(key.getPrivate());
    }
  }

  private static final List<Signing> ISSUERS = new ArrayList<>();
  private static final List<KeyPair> LEAF_KEYS = new ArrayList<>();

  @TempDir Path dir;

  @BeforeAll
  static void issuersAndKeys() throws Exception {
    KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    KeyPair ec = ec("secp256r1");
    X509CertificateHolder edRoot = TEMPLATE.selfSignedRoot(new X500Name("CN=Ed Root,O=Keywarden,C=DE"), spki(ed),
        Duration.ofDays(2), Optional.empty(), new JcaContentSignerBuilder("Ed25519").build(ed.getPrivate()));
    X509CertificateHolder ecRoot = TEMPLATE.selfSignedRoot(new X500Name("CN=EC Root,OU=Ünits+O=Multi Valued"),
        spki(ec), Duration.ofDays(2), Optional.of(0), new JcaContentSignerBuilder("SHA256withECDSA")
            .build(ec.getPrivate()));
    ISSUERS.add(new Signing(new Issuer("ed-root", edRoot, Optional.empty()), ed, "Ed25519"));
    ISSUERS.add(new Signing(new Issuer("ed-root-urls", edRoot, Optional.of("https://ca.example.com:8200/base")), ed,
        "Ed25519"));
    ISSUERS.add(new Signing(new Issuer("ec-root", ecRoot, Optional.of("http://kw.internal")), ec,
        "SHA256withECDSA"));
    LEAF_KEYS.add(ec("secp256r1"));
    LEAF_KEYS.add(ec("secp384r1"));
    LEAF_KEYS.add(KeyPairGenerator.getInstance("Ed25519").generateKeyPair());
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    LEAF_KEYS.add(rsa.generateKeyPair());
  }

  private static KeyPair ec(String curve) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec(curve));
    return g.generateKeyPair();
  }

  private static SubjectPublicKeyInfo spki(KeyPair k) {
    return SubjectPublicKeyInfo.getInstance(k.getPublic().getEncoded());
  }

  /** One generated issuance: everything the template takes. */
  private record Case(Role role, RequestedNames names, int issuer, int key, Duration ttl) {}

  private static Gen<String> attributeValues() {
    // Printable ASCII with BCStyle's special first characters, Unicode (supplementary characters too), and both.
    Gen<String> unicode = unicodeStrings(1, 12).map(v -> v.codePoints().filter(cp -> !Character.isISOControl(cp))
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString())
        .map(v -> v.isBlank() ? "u" + v : v);
    return Generate.oneOf(stringsOver("abcXYZ 019.-_'\"#\\+,=<>;", 1, 20).map(v -> v.isBlank() ? v + "s" : v),
        unicode,
        Generate.pick(List.of("#", "\\#x", "\\", " lead", "trail ", "Müller & Söhne", "東京", "\uD83D\uDD11 key")));
  }

  private static Gen<List<String>> attributes() {
    return lists().of(attributeValues()).ofSizeBetween(0, 2);
  }

  private static Gen<String> label() {
    return stringsOver("abcdefghijklmnopqrstuvwxyz0123456789", 1, 10);
  }

  private static Gen<Optional<String>> commonNames() {
    return Generate.oneOf(label().map(l -> Optional.of(l + ".example.com")),
        Generate.pick(List.of(Optional.empty(), Optional.of("example.com"), Optional.of("10.0.0.1"),
            Optional.of("2001:db8::7"), Optional.of("API.Example.COM"))));
  }

  private static Gen<List<InetAddress>> ips() {
    Gen<InetAddress> v4 = integers().between(0, 255).zip(integers().between(0, 255),
        (a, b) -> IpLiterals.parse("10." + a + "." + b + ".1"));
    Gen<InetAddress> v6 = integers().between(1, 0xffff).map(a -> IpLiterals.parse("2001:db8::" + Integer.toHexString(a)));
    return lists().of(Generate.oneOf(v4, v6)).ofSizeBetween(0, 3);
  }

  private static Gen<List<URI>> uris() {
    return lists().of(label().map(l -> URI.create("https://" + l + ".example.com/p/" + l)))
        .ofSizeBetween(0, 2);
  }

  /** The role's subject attributes, generated together. */
  private record Subject(List<String> organization, List<String> ou, List<String> province, List<String> locality) {}

  private static Gen<Role> roles() {
    Gen<List<String>> countries = lists().of(Generate.pick(List.of("DE", "US", "FR"))).ofSizeBetween(0, 1);
    // Role needs server_flag or client_flag: 0 server, 1 client, 2 both.
    return integers().between(0, 2).zip(countries, attributes().zip(attributes(), attributes(), attributes(),
        Subject::new), (flags, c, s) -> Role.builder("r").allowedDomains("example.com").allowSubdomains(true)
            .allowBareDomains(true).allowIpSans(true).allowedUriSans("https://*.example.com/p/*").serverFlag(flags != 1)
            .clientFlag(flags != 0).maxTtl(Duration.ofDays(30)).country(c.toArray(String[]::new))
            .organization(s.organization().toArray(String[]::new)).organizationalUnit(s.ou().toArray(String[]::new))
            .province(s.province().toArray(String[]::new)).locality(s.locality().toArray(String[]::new)).build());
  }

  private static Gen<Case> cases() {
    Gen<RequestedNames> names = commonNames().zip(lists().of(label().map(l -> l + ".example.com"))
        .ofSizeBetween(0, 3), ips(), uris(), RequestedNames::new);
    return roles().zip(names, integers().between(0, ISSUERS.size() - 1),
        integers().between(0, LEAF_KEYS.size() - 1), integers().between(1, 30 * 24).map(h -> Duration.ofHours(h)),
        Case::new);
  }

  @Test
  void leafIsBouncyCastlesCertificateByteForByte() {
    AtomicInteger compared = new AtomicInteger();
    AtomicInteger issued = new AtomicInteger();
    qt().withExamples(400).forAll(cases()).checkAssert(c -> {
      try {
        if (compare(c, compared.incrementAndGet() <= 8)) {
          issued.incrementAndGet();
        }
      } catch (Exception e) {
        throw new AssertionError(c.toString(), e);
      }
    });
    assertTrue(issued.get() > compared.get() / 2, issued + " of " + compared + " cases issued a certificate");
  }

  /** True when a certificate was issued and compared; false when both refused the case. */
  private boolean compare(Case c, boolean viaOpenssl) throws Exception {
    Signing s = ISSUERS.get(c.issuer());
    KeyPair key = LEAF_KEYS.get(c.key());
    boolean rsa = key.getPublic().getAlgorithm().equals("RSA");
    Optional<Duration> ttl = Optional.of(c.ttl());
    CertificateTemplate.Leaf ours;
    try {
      ours = TEMPLATE.leaf(s.issuer(), c.role(), spki(key), rsa, c.names(), ttl, s.signer());
    } catch (RuntimeException e) {
      // A request the template refuses (e.g. no names): the oracle, fed the same, must refuse it too.
      assertThrowsAlike(e, () -> oracle(s, c, key, rsa, BigInteger.ONE, Instant.EPOCH, Instant.EPOCH));
      return false;
    }
    X509CertificateHolder parsed = ours.certificate();
    assertArrayEquals(parsed.getEncoded(), ours.der(), "the DER is the certificate's own encoding");
    assertEquals(ours.serial(), parsed.getSerialNumber());
    assertEquals(ours.serial().toString(16), ours.serialHex());
    assertEquals(ours.notAfter(), parsed.getNotAfter().toInstant());
    byte[] expected = oracle(s, c, key, rsa, parsed.getSerialNumber(), parsed.getNotBefore().toInstant(),
        parsed.getNotAfter().toInstant());
    if (s.algorithm().equals("Ed25519")) {
      assertArrayEquals(expected, ours.der(), c.toString());
    } else {
      assertArrayEquals(new X509CertificateHolder(expected).toASN1Structure().getTBSCertificate()
          .getEncoded(ASN1Encoding.DER), parsed.toASN1Structure().getTBSCertificate().getEncoded(ASN1Encoding.DER),
          c.toString());
    }
    X509Certificate jdk = (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(ours.der()));
    jdk.verify(s.key().getPublic());
    assertNotNull(jdk.getSubjectAlternativeNames());
    if (viaOpenssl) {
      Path file = Files.write(dir.resolve("leaf-" + System.nanoTime() + ".der"), ours.der());
      Process p = new ProcessBuilder("openssl", "x509", "-inform", "DER", "-in", file.toString(), "-noout",
          "-text").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), out);
      assertTrue(out.contains("X509v3 Subject Alternative Name"), out);
    }
    return true;
  }

  private static void assertThrowsAlike(RuntimeException ours, ThrowingRunnable oracle) {
    try {
      oracle.run();
    } catch (Exception e) {
      return;
    }
    fail("the encoder refused what Bouncy Castle encodes: " + ours);
  }

  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  /** The oracle: the leaf as CertificateTemplate built it with Bouncy Castle's builder before the encoder. */
  private static byte[] oracle(Signing s, Case c, KeyPair key, boolean rsa, BigInteger serial, Instant notBefore,
      Instant notAfter) throws Exception {
    Role role = c.role();
    RequestedNames checked = NameRules.check(role, c.names());
    Issuer issuer = s.issuer();
    X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE);
    role.country().forEach(v -> subject.addRDN(BCStyle.C, v));
    role.province().forEach(v -> subject.addRDN(BCStyle.ST, v));
    role.locality().forEach(v -> subject.addRDN(BCStyle.L, v));
    role.organization().forEach(v -> subject.addRDN(BCStyle.O, v));
    role.organizationalUnit().forEach(v -> subject.addRDN(BCStyle.OU, v));
    checked.commonName().ifPresent(cn -> subject.addRDN(BCStyle.CN, cn));
    X500Name subjectName = subject.build();
    List<GeneralName> sans = new ArrayList<>();
    List<String> dns = new ArrayList<>(checked.dnsNames());
    List<InetAddress> ips = new ArrayList<>(checked.ipAddresses());
    checked.commonName().ifPresent(cn -> {
      InetAddress ip = IpLiterals.parse(cn);
      if (ip != null) {
        if (!ips.contains(ip)) {
          ips.add(0, ip);
        }
      } else if (!dns.contains(cn)) {
        dns.add(0, cn);
      }
    });
    dns.forEach(d -> sans.add(new GeneralName(GeneralName.dNSName, d)));
    ips.forEach(a -> sans.add(new GeneralName(GeneralName.iPAddress, new DEROctetString(a.getAddress()))));
    checked.uris().forEach(u -> sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, u.toString())));
    if (sans.isEmpty()) {
      throw new IllegalArgumentException("names nothing");
    }
    SubjectPublicKeyInfo spki = spki(key);
    X509v3CertificateBuilder b = new X509v3CertificateBuilder(issuer.certificate().getSubject(), serial,
        CertificateTemplate.time(notBefore), CertificateTemplate.time(notAfter), subjectName, spki);
    b.addExtension(Extension.subjectAlternativeName, subjectName.getRDNs().length == 0,
        new GeneralNames(sans.toArray(GeneralName[]::new)));
    b.addExtension(Extension.keyUsage, true,
        new KeyUsage(KeyUsage.digitalSignature | (rsa ? KeyUsage.keyEncipherment : 0)));
    List<KeyPurposeId> ekus = new ArrayList<>();
    if (role.serverFlag()) {
      ekus.add(KeyPurposeId.id_kp_serverAuth);
    }
    if (role.clientFlag()) {
      ekus.add(KeyPurposeId.id_kp_clientAuth);
    }
    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(ekus.toArray(KeyPurposeId[]::new)));
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.subjectKeyIdentifier, false, EXT.createSubjectKeyIdentifier(spki));
    b.addExtension(Extension.authorityKeyIdentifier, false, issuer.authorityKeyIdentifier());
    if (issuer.baseUrl().isPresent()) {
      GeneralName crl = new GeneralName(GeneralName.uniformResourceIdentifier, issuer.crlUrl().orElseThrow());
      b.addExtension(Extension.cRLDistributionPoints, false, new CRLDistPoint(new DistributionPoint[] {
          new DistributionPoint(new DistributionPointName(new GeneralNames(crl)), null, null)}));
      b.addExtension(Extension.authorityInfoAccess, false, new AuthorityInformationAccess(new AccessDescription[] {
          new AccessDescription(AccessDescription.id_ad_ocsp,
              new GeneralName(GeneralName.uniformResourceIdentifier, issuer.ocspUrl().orElseThrow())),
          new AccessDescription(AccessDescription.id_ad_caIssuers,
              new GeneralName(GeneralName.uniformResourceIdentifier, issuer.caIssuersUrl().orElseThrow()))}));
    }
    return b.build(s.signer()).getEncoded();
  }

  @Test
  void generalizedTimeFrom2050() {
    Instant t = java.time.LocalDateTime.of(2051, 3, 4, 5, 6, 7).toInstant(ZoneOffset.UTC);
    assertArrayEquals(new byte[] {0x18, 15, '2', '0', '5', '1', '0', '3', '0', '4', '0', '5', '0', '6', '0', '7',
        'Z'}, CertificateTemplate.timeDer(t));
  }

  @Test
  void longLengthsEncodeInMinimalOctets() {
    for (int n : new int[] {0, 1, 127, 128, 255, 256, 65535, 65536}) {
      byte[] der = LeafEncoder.tlv(0x04, new byte[n]);
      DEROctetString bc = new DEROctetString(new byte[n]);
      try {
        assertArrayEquals(bc.getEncoded(ASN1Encoding.DER), der, "length " + n);
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
    }
  }
}
