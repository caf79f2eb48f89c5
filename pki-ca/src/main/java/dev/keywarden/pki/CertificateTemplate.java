package dev.keywarden.pki;

import dev.keywarden.encoding.DurationText;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.names.IpLiterals;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.BERTags;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLDistPoint;
import org.bouncycastle.asn1.x509.DistributionPoint;
import org.bouncycastle.asn1.x509.DistributionPointName;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.bc.BcX509ExtensionUtils;
import org.bouncycastle.operator.ContentSigner;

/**
 * Certificate contents: leaves for a role, self-signed roots and intermediates. Signing goes through the
 * {@link ContentSigner} given, so this class does not know where the issuer's key lives (HSM or software); every
 * certificate is verified with the issuer's public key before it is returned, which catches a signer that does not
 * hold the issuer's key.
 */
public final class CertificateTemplate {
  private static final BcX509ExtensionUtils EXT = new BcX509ExtensionUtils();

  private final Clock clock;
  private final SecureRandom random;

  /** Issuer keys parsed once (few: one per issuer). */
  private final java.util.Map<SubjectPublicKeyInfo, SignatureCheck.Key> issuerKeys =
      new java.util.concurrent.ConcurrentHashMap<>();
  /** HSM signers whose first signature verified under the issuer key they sign for. */
  private final java.util.Set<ProvenSigner> provenSigners = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private record ProvenSigner(SubjectPublicKeyInfo issuerKey, HsmKeyId keyId) {}

  /**
   * The signer proven last, matched by the very issuer key object (an issuer's parsed certificate is kept, so its
   * key is the same object call after call): comparing two keys' ASN.1 trees for the set costs more than the rest of
   * the lookup. Null after {@link #forgetProvenSigners()}.
   */
  private volatile ProvenSigner lastProven;

  /**
   * Each issuer's encoded part of its leaves, by issuer id, valid for the very {@link Issuer} object it was made
   * from (a changed issuer is a new object, so an entry is never stale); cleared on seal.
   */
  private final java.util.Map<String, EncodedIssuer> encodedIssuers = new java.util.concurrent.ConcurrentHashMap<>();

  private record EncodedIssuer(Issuer issuer, LeafEncoder.IssuerPart part) {}

  public CertificateTemplate(Clock clock, SecureRandom random) {
    this.clock = clock;
    this.random = random;
  }

  /**
   * A positive serial of 20 octets: 159 bits with the top bit clear and the next one set, so it always encodes in
   * 20 DER octets and carries 158 random bits.
   */
  public BigInteger newSerial() {
    return new BigInteger(1, serialOctets());
  }

  /** {@link #newSerial}'s 20 octets: its INTEGER's content, and (the first being 0x40 to 0x7f) its hex. */
  private byte[] serialOctets() {
    byte[] b = new byte[20];
    random.nextBytes(b);
    b[0] = (byte) ((b[0] & 0x7f) | 0x40);
    return b;
  }

  /**
   * Issues a leaf for names already checked against {@code role} ({@link NameRules#check} or {@link CsrCheck}).
   * The lifetime is {@code ttl} (role.ttl if empty), refused above role.max_ttl, and cut to the issuer's notAfter.
   */
  public X509CertificateHolder issueLeaf(Issuer issuer, Role role, SubjectPublicKeyInfo key, boolean rsaKey,
      RequestedNames names, Optional<Duration> ttl, ContentSigner signer) {
    return leaf(issuer, role, key, rsaKey, names, ttl, signer).certificate();
  }

  /**
   * A leaf just issued: its serial (also as the lower-case hex the store keys it by), its notAfter as it was chosen
   * (reading it back from the certificate parses a date) and its DER.
   */
  record Leaf(BigInteger serial, String serialHex, Instant notAfter, byte[] der) {
    /** The certificate, parsed from {@link #der}. */
    X509CertificateHolder certificate() {
      try {
        return new X509CertificateHolder(der);
      } catch (IOException e) {
        throw new IllegalStateException("a certificate just encoded always parses", e);
      }
    }
  }

  /** As {@link #issueLeaf}, with the notAfter. */
  Leaf leaf(Issuer issuer, Role role, SubjectPublicKeyInfo key, boolean rsaKey, RequestedNames names,
      Optional<Duration> ttl, ContentSigner signer) {
    Duration lifetime = ttl.orElse(role.ttl());
    if (lifetime.isNegative() || lifetime.isZero()) {
      throw KeywardenException.invalid("ttl must be positive");
    }
    if (lifetime.compareTo(role.maxTtl()) > 0) {
      throw KeywardenException.invalid("requested ttl " + DurationText.format(lifetime) + " is above role '"
          + role.name() + "' max_ttl " + DurationText.format(role.maxTtl()));
    }
    names = NameRules.check(role, names); // cheap, and a caller that forgot cannot widen the role
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Validity v = validity(issuer, now, now.minus(role.notBeforeDuration()), now.plus(lifetime));

    RequestedNames checked = names;
    List<String> dns = new ArrayList<>(checked.dnsNames());
    List<InetAddress> ips = new ArrayList<>(checked.ipAddresses());
    // As Vault does, the CN is also a SAN: TLS clients match only SANs.
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
    if (dns.isEmpty() && ips.isEmpty() && checked.uris().isEmpty()) {
      throw KeywardenException.invalid("the request names nothing: give a common name or a DNS, IP or URI SAN");
    }

    byte[] serial = serialOctets();
    byte[] algorithm = signer instanceof HsmContentSigner h ? h.identifierDer() : der(signer.getAlgorithmIdentifier());
    byte[] tbs = LeafEncoder.tbs(serial, algorithm, issuerPart(issuer), timeDer(v.notBefore()),
        timeDer(v.notAfter()), role, checked, dns, ips, checked.uris(), key, rsaKey);
    byte[] signature = signature(signer, tbs);
    check(signer, issuer.certificate().getSubjectPublicKeyInfo(), tbs, signature);
    return new Leaf(new BigInteger(1, serial), HexFormat.of().formatHex(serial),
        v.notAfter().truncatedTo(ChronoUnit.SECONDS), LeafEncoder.certificate(tbs, algorithm, signature));
  }

  /** The issuer's encoded part of its leaves, made once per issuer object (an issuer's parsed view is kept). */
  private LeafEncoder.IssuerPart issuerPart(Issuer issuer) {
    EncodedIssuer e = encodedIssuers.get(issuer.id());
    if (e == null || e.issuer() != issuer) {
      e = new EncodedIssuer(issuer, LeafEncoder.IssuerPart.of(issuer));
      encodedIssuers.put(issuer.id(), e);
    }
    return e.part();
  }

  private static byte[] signature(ContentSigner signer, byte[] tbs) {
    if (signer instanceof HsmContentSigner h) {
      return h.sign(tbs);
    }
    try (OutputStream out = signer.getOutputStream()) {
      out.write(tbs);
    } catch (IOException e) {
      throw new IllegalStateException("a signer's content stream failed", e);
    }
    return signer.getSignature();
  }

  /** A self-signed root: CA=true with {@code pathLen} (empty: unlimited), keyCertSign and cRLSign. */
  public X509CertificateHolder selfSignedRoot(X500Name subject, SubjectPublicKeyInfo key, Duration ttl,
      Optional<Integer> pathLen, ContentSigner signer) {
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    X509v3CertificateBuilder b = new X509v3CertificateBuilder(subject, newSerial(), time(now),
        time(now.plus(positive(ttl))), subject, key);
    try {
      addCaExtensions(b, pathLen);
      b.addExtension(Extension.subjectKeyIdentifier, false, EXT.createSubjectKeyIdentifier(key));
    } catch (CertIOException e) {
      throw new IllegalStateException("certificate extensions always encode", e);
    }
    return sign(b, signer, key);
  }

  /** An intermediate CA under {@code parent}, its lifetime cut to the parent's notAfter. */
  public X509CertificateHolder intermediate(Issuer parent, X500Name subject, SubjectPublicKeyInfo key, Duration ttl,
      Optional<Integer> pathLen, ContentSigner signer) {
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Validity v = validity(parent, now, now, now.plus(positive(ttl)));
    X509v3CertificateBuilder b = new X509v3CertificateBuilder(parent.certificate().getSubject(), newSerial(),
        time(v.notBefore()), time(v.notAfter()), subject, key);
    try {
      addCaExtensions(b, pathLen);
      addKeyIdentifiersAndUrls(b, key, parent);
    } catch (CertIOException e) {
      throw new IllegalStateException("certificate extensions always encode", e);
    }
    return sign(b, signer, parent.certificate().getSubjectPublicKeyInfo());
  }

  private record Validity(Instant notBefore, Instant notAfter) {}

  /**
   * A validity time as RFC 5280 4.1.2.5 wants it: UTCTime through 2049, GeneralizedTime from 2050, whole seconds, Z.
   * Written digit by digit: Bouncy Castle's Time(Date) makes a SimpleDateFormat and a Calendar for each one.
   */
  static Time time(Instant instant) {
    try {
      return new Time(ASN1Primitive.fromByteArray(timeDer(instant)));
    } catch (IOException e) {
      throw new IllegalStateException("a time of 13 or 15 digits always parses", e);
    }
  }

  /** {@link #time} as DER. */
  static byte[] timeDer(Instant instant) {
    LocalDateTime t = LocalDateTime.ofEpochSecond(instant.getEpochSecond(), 0, ZoneOffset.UTC);
    boolean utc = t.getYear() >= 1950 && t.getYear() < 2050;
    if (t.getYear() < 0 || t.getYear() > 9999) {
      throw KeywardenException.invalid("a certificate's validity must lie between the years 0 and 9999");
    }
    byte[] der = new byte[2 + (utc ? 13 : 15)];
    der[0] = (byte) (utc ? BERTags.UTC_TIME : BERTags.GENERALIZED_TIME);
    der[1] = (byte) (der.length - 2);
    int at = 2;
    if (!utc) {
      at = digits(der, at, t.getYear() / 100);
    }
    at = digits(der, at, t.getYear() % 100);
    at = digits(der, at, t.getMonthValue());
    at = digits(der, at, t.getDayOfMonth());
    at = digits(der, at, t.getHour());
    at = digits(der, at, t.getMinute());
    at = digits(der, at, t.getSecond());
    der[at] = 'Z';
    return der;
  }

  private static int digits(byte[] out, int at, int twoDigits) {
    out[at] = (byte) ('0' + twoDigits / 10);
    out[at + 1] = (byte) ('0' + twoDigits % 10);
    return at + 2;
  }

  private static Validity validity(Issuer issuer, Instant now, Instant notBefore, Instant notAfter) {
    Instant issuerNotBefore = issuer.notBefore();
    Instant issuerNotAfter = issuer.notAfter();
    if (!issuerNotAfter.isAfter(now)) {
      throw KeywardenException.precondition("issuer '" + issuer.id() + "' expired at " + issuerNotAfter
          + "; issue from a newer issuer");
    }
    // Nest inside the issuer's validity: never before it starts, never after it ends.
    Instant nb = notBefore.isBefore(issuerNotBefore) ? issuerNotBefore : notBefore;
    Instant na = notAfter.isAfter(issuerNotAfter) ? issuerNotAfter : notAfter;
    return new Validity(nb, na);
  }

  private static void addCaExtensions(X509v3CertificateBuilder b, Optional<Integer> pathLen) throws CertIOException {
    if (pathLen.isPresent() && pathLen.get() < 0) {
      throw KeywardenException.invalid("path_len may not be negative");
    }
    b.addExtension(Extension.basicConstraints, true,
        pathLen.map(BasicConstraints::new).orElseGet(() -> new BasicConstraints(true)));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
  }

  private static void addKeyIdentifiersAndUrls(X509v3CertificateBuilder b, SubjectPublicKeyInfo key, Issuer issuer)
      throws CertIOException {
    b.addExtension(Extension.subjectKeyIdentifier, false, EXT.createSubjectKeyIdentifier(key));
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
  }

  /**
   * Builds and signs, then checks the signature against the issuer's key before anything is handed out: a signer
   * that does not hold that key must never produce a certificate. RSA signatures are checked every time (a faulty
   * RSA-CRT signature would give the key away); an HSM signer of any other algorithm is checked on its first
   * signature, which proves it holds the issuer's key, and trusted after that until {@link #forgetProvenSigners()}
   * (on seal). Software signers are checked every time. Each check is a full signature verification, as costly here
   * as the HSM's signature itself.
   */
  private X509CertificateHolder sign(X509v3CertificateBuilder b, ContentSigner signer,
      SubjectPublicKeyInfo issuerKey) {
    X509CertificateHolder cert = b.build(signer);
    check(signer, issuerKey, () -> der(cert.toASN1Structure().getTBSCertificate()), cert.getSignature());
    return cert;
  }

  /** {@link #sign}'s check of a signature just made over {@code tbs} (computed only when checked). */
  private void check(ContentSigner signer, SubjectPublicKeyInfo issuerKey, Supplier<byte[]> tbs, byte[] signature) {
    ProvenSigner proof = signer instanceof HsmContentSigner h
        && h.algorithm().family() != KeyPairAlgorithm.Family.RSA
        ? new ProvenSigner(issuerKey, h.keyId()) : null;
    ProvenSigner last = lastProven;
    if (proof != null && last != null && last.issuerKey() == issuerKey && last.keyId().equals(proof.keyId())) {
      return;
    }
    if (proof != null && provenSigners.contains(proof)) {
      lastProven = proof;
      return;
    }
    boolean ok = SignatureCheck.verify(issuerKeys.computeIfAbsent(issuerKey, SignatureCheck::key),
        signer.getAlgorithmIdentifier(), tbs.get(), signature);
    if (!ok) {
      throw new IllegalStateException("the issuer's signer made a signature its certificate's key does not verify");
    }
    if (proof != null) {
      provenSigners.add(proof);
    }
  }

  private void check(ContentSigner signer, SubjectPublicKeyInfo issuerKey, byte[] tbs, byte[] signature) {
    check(signer, issuerKey, () -> tbs, signature);
  }

  /** Forgets which HSM signers have proven their key, so each is checked again on its next signature. */
  public void forgetProvenSigners() {
    lastProven = null;
    provenSigners.clear();
  }

  /** Forgets the issuers' encoded parts (on seal); each is encoded again on its next leaf. */
  public void forgetEncodedIssuers() {
    encodedIssuers.clear();
  }

  private static Duration positive(Duration ttl) {
    if (ttl == null || ttl.isNegative() || ttl.isZero()) {
      throw KeywardenException.invalid("ttl must be positive");
    }
    return ttl;
  }

  private static byte[] der(org.bouncycastle.asn1.ASN1Object value) {
    try {
      return value.getEncoded(org.bouncycastle.asn1.ASN1Encoding.DER);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] der(X509CertificateHolder cert) {
    try {
      return cert.getEncoded();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
