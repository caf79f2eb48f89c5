package dev.keywarden.pki;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.CRLDistPoint;
import org.bouncycastle.asn1.x509.DistributionPoint;
import org.bouncycastle.asn1.x509.DistributionPointName;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * Writes a leaf certificate's DER directly, byte for byte what Bouncy Castle's {@code X509v3CertificateBuilder} makes
 * from the same contents (a property test holds the two equal): building BC's object tree, encoding it, parsing the
 * TBS back and wrapping the signer cost about as much CPU as the HSM's signature. What an issuer contributes (its
 * name, AKI, CRL and AIA URLs) is encoded once per issuer, by Bouncy Castle, in {@link IssuerPart}.
 */
final class LeafEncoder {
  private static final byte SEQUENCE = 0x30;
  private static final byte SET = 0x31;
  private static final byte[] VERSION_3 = {(byte) 0xa0, 0x03, 0x02, 0x01, 0x02};
  private static final byte[] CRITICAL = {0x01, 0x01, (byte) 0xff};
  private static final byte[] SAN = oid(Extension.subjectAlternativeName);
  private static final byte[] KEY_USAGE = oid(Extension.keyUsage);
  private static final byte[] EXTENDED_KEY_USAGE = oid(Extension.extendedKeyUsage);
  private static final byte[] BASIC_CONSTRAINTS = oid(Extension.basicConstraints);
  private static final byte[] SUBJECT_KEY_ID = oid(Extension.subjectKeyIdentifier);
  private static final byte[] SERVER_AUTH = oid(new ASN1ObjectIdentifier("1.3.6.1.5.5.7.3.1"));
  private static final byte[] CLIENT_AUTH = oid(new ASN1ObjectIdentifier("1.3.6.1.5.5.7.3.2"));
  private static final byte[] C = oid(BCStyle.C);
  private static final byte[] ST = oid(BCStyle.ST);
  private static final byte[] L = oid(BCStyle.L);
  private static final byte[] O = oid(BCStyle.O);
  private static final byte[] OU = oid(BCStyle.OU);
  private static final byte[] CN = oid(BCStyle.CN);
  /** KeyUsage digitalSignature, and with keyEncipherment (RSA keys): BIT STRINGs with their unused bits. */
  private static final byte[] DIGITAL_SIGNATURE = {0x03, 0x02, 0x07, (byte) 0x80};
  private static final byte[] DIGITAL_SIGNATURE_KEY_ENCIPHERMENT = {0x03, 0x02, 0x05, (byte) 0xa0};
  /** BasicConstraints with cA false: the default, so an empty SEQUENCE. */
  private static final byte[] NOT_A_CA = {SEQUENCE, 0x00};

  private LeafEncoder() {}

  /**
   * What every leaf an issuer signs takes from it, encoded once: its subject (the leaves' issuer name) and the
   * extensions naming it (AKI, and with a base URL the CRL distribution point and AIA), each an encoded Extension.
   */
  record IssuerPart(byte[] name, byte[] extensions) {
    static IssuerPart of(Issuer issuer) {
      try {
        byte[] name = issuer.certificate().getSubject().getEncoded(ASN1Encoding.DER);
        Buffer ext = new Buffer(256);
        ext.write(extension(Extension.authorityKeyIdentifier, false, issuer.authorityKeyIdentifier()));
        if (issuer.baseUrl().isPresent()) {
          GeneralName crl = new GeneralName(GeneralName.uniformResourceIdentifier, issuer.crlUrl().orElseThrow());
          ext.write(extension(Extension.cRLDistributionPoints, false, new CRLDistPoint(new DistributionPoint[] {
              new DistributionPoint(new DistributionPointName(new GeneralNames(crl)), null, null)})));
          ext.write(extension(Extension.authorityInfoAccess, false, new AuthorityInformationAccess(
              new AccessDescription[] {
                  new AccessDescription(AccessDescription.id_ad_ocsp,
                      new GeneralName(GeneralName.uniformResourceIdentifier, issuer.ocspUrl().orElseThrow())),
                  new AccessDescription(AccessDescription.id_ad_caIssuers,
                      new GeneralName(GeneralName.uniformResourceIdentifier, issuer.caIssuersUrl().orElseThrow()))})));
        }
        return new IssuerPart(name, ext.toByteArray());
      } catch (IOException e) {
        throw new IllegalStateException("an issuer's name and extensions always encode", e);
      }
    }

    private static byte[] extension(ASN1ObjectIdentifier oid, boolean critical, ASN1Encodable value)
        throws IOException {
      return new Extension(oid, critical, new DEROctetString(value.toASN1Primitive().getEncoded(ASN1Encoding.DER)))
          .getEncoded(ASN1Encoding.DER);
    }
  }

  /**
   * The TBSCertificate of a leaf: v3, {@code serial} (a positive INTEGER's content octets), the signature algorithm
   * identifier (DER), the issuer's name, the validity (encoded times), the subject, the key, then the extensions in
   * the order CertificateTemplate has always added them: SAN (critical when the subject is empty), keyUsage
   * (critical), extKeyUsage, basicConstraints (critical, cA false), SKI, then the issuer's.
   */
  static byte[] tbs(byte[] serial, byte[] algorithm, IssuerPart issuer, byte[] notBefore, byte[] notAfter,
      Role role, RequestedNames names, List<String> dns, List<InetAddress> ips, List<URI> uris,
      SubjectPublicKeyInfo key, boolean rsaKey) {
    byte[] subject = subject(role, names);
    byte[] spki;
    byte[] publicKeyBits;
    try {
      spki = key.getEncoded(ASN1Encoding.DER);
      publicKeyBits = key.getPublicKeyData().getBytes();
    } catch (IOException e) {
      throw new IllegalStateException("a parsed public key always encodes", e);
    }
    Buffer ext = new Buffer(512);
    // RFC 5280 4.2.1.6: with an empty subject the SAN extension is critical.
    ext.extension(SAN, subject.length == 2, generalNames(dns, ips, uris));
    ext.extension(KEY_USAGE, true, rsaKey ? DIGITAL_SIGNATURE_KEY_ENCIPHERMENT : DIGITAL_SIGNATURE);
    Buffer ekus = new Buffer(32);
    if (role.serverFlag()) {
      ekus.write(SERVER_AUTH);
    }
    if (role.clientFlag()) {
      ekus.write(CLIENT_AUTH);
    }
    ext.extension(EXTENDED_KEY_USAGE, false, ekus.wrap(SEQUENCE));
    ext.extension(BASIC_CONSTRAINTS, true, NOT_A_CA);
    ext.extension(SUBJECT_KEY_ID, false, tlv(0x04, keyIdentifier(publicKeyBits)));
    ext.write(issuer.extensions());

    Buffer tbs = new Buffer(1024);
    tbs.write(VERSION_3);
    tbs.tlv(0x02, serial);
    tbs.write(algorithm);
    tbs.write(issuer.name());
    tbs.header(SEQUENCE, notBefore.length + notAfter.length);
    tbs.write(notBefore);
    tbs.write(notAfter);
    tbs.write(subject);
    tbs.write(spki);
    byte[] extensions = ext.wrap(SEQUENCE);
    tbs.header(0xa3, extensions.length); // [3] EXPLICIT
    tbs.write(extensions);
    return tbs.wrap(SEQUENCE);
  }

  /** The signed certificate: SEQUENCE { tbs, algorithm, BIT STRING signature }. */
  static byte[] certificate(byte[] tbs, byte[] algorithm, byte[] signature) {
    Buffer b = new Buffer(tbs.length + algorithm.length + signature.length + 16);
    b.write(tbs);
    b.write(algorithm);
    b.header(0x03, signature.length + 1);
    b.write(0);
    b.write(signature);
    return b.wrap(SEQUENCE);
  }

  /**
   * The subject: the role's C, ST, L, O and OU, then the CN, one attribute per RDN, as Bouncy Castle's BCStyle
   * encodes them (C a PrintableString, the others UTF8String). A role value starting with '#' or '\' means something
   * else to BCStyle (hex DER, an escape), and one with a lone surrogate encodes differently: those subjects are left
   * to Bouncy Castle, so the two never disagree.
   */
  static byte[] subject(Role role, RequestedNames names) {
    if (!plain(role.country()) || !plain(role.province()) || !plain(role.locality())
        || !plain(role.organization()) || !plain(role.organizationalUnit())
        || !plain(names.commonName().map(List::of).orElse(List.of()))) {
      return bouncyCastleSubject(role, names);
    }
    Buffer b = new Buffer(128);
    role.country().forEach(v -> rdn(b, C, 0x13, latin1(v)));
    role.province().forEach(v -> rdn(b, ST, 0x0c, v.getBytes(UTF_8)));
    role.locality().forEach(v -> rdn(b, L, 0x0c, v.getBytes(UTF_8)));
    role.organization().forEach(v -> rdn(b, O, 0x0c, v.getBytes(UTF_8)));
    role.organizationalUnit().forEach(v -> rdn(b, OU, 0x0c, v.getBytes(UTF_8)));
    names.commonName().ifPresent(v -> rdn(b, CN, 0x0c, v.getBytes(UTF_8)));
    return b.wrap(SEQUENCE);
  }

  private static byte[] bouncyCastleSubject(Role role, RequestedNames names) {
    X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE);
    role.country().forEach(c -> subject.addRDN(BCStyle.C, c));
    role.province().forEach(p -> subject.addRDN(BCStyle.ST, p));
    role.locality().forEach(l -> subject.addRDN(BCStyle.L, l));
    role.organization().forEach(o -> subject.addRDN(BCStyle.O, o));
    role.organizationalUnit().forEach(ou -> subject.addRDN(BCStyle.OU, ou));
    names.commonName().ifPresent(cn -> subject.addRDN(BCStyle.CN, cn));
    try {
      return subject.build().getEncoded(ASN1Encoding.DER);
    } catch (IOException e) {
      throw new IllegalStateException("a subject always encodes", e);
    }
  }

  private static boolean plain(List<String> values) {
    for (String v : values) {
      if (!v.isEmpty() && (v.charAt(0) == '#' || v.charAt(0) == '\\')) {
        return false;
      }
      for (int i = 0; i < v.length(); i++) {
        if (Character.isSurrogate(v.charAt(i))) {
          return false;
        }
      }
    }
    return true;
  }

  private static void rdn(Buffer b, byte[] oid, int stringTag, byte[] value) {
    int atv = oid.length + length(stringTag, value.length);
    b.header(SET, length(SEQUENCE, atv));
    b.header(SEQUENCE, atv);
    b.write(oid);
    b.tlv(stringTag, value);
  }

  /** GeneralNames: dNSName [2], iPAddress [7], uniformResourceIdentifier [6], IMPLICIT; IA5 as BC writes it. */
  private static byte[] generalNames(List<String> dns, List<InetAddress> ips, List<URI> uris) {
    Buffer b = new Buffer(128);
    dns.forEach(d -> b.tlv(0x82, latin1(d)));
    ips.forEach(a -> b.tlv(0x87, a.getAddress()));
    uris.forEach(u -> b.tlv(0x86, latin1(u.toString())));
    return b.wrap(SEQUENCE);
  }

  /**
   * RFC 5280 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey BIT STRING's bits, by the JDK's SHA-1 (a CPU
   * intrinsic where the CPU has SHA instructions) rather than Bouncy Castle's Java one.
   */
  private static byte[] keyIdentifier(byte[] publicKeyBits) {
    try {
      return MessageDigest.getInstance("SHA-1").digest(publicKeyBits);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-1", e);
    }
  }

  /** Each char's low byte: what Bouncy Castle's IA5 and Printable strings hold. */
  private static byte[] latin1(String s) {
    byte[] b = new byte[s.length()];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) s.charAt(i);
    }
    return b;
  }

  private static byte[] oid(ASN1ObjectIdentifier oid) {
    try {
      return oid.getEncoded(ASN1Encoding.DER);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] tlv(int tag, byte[] content) {
    Buffer b = new Buffer(content.length + 6);
    b.tlv(tag, content);
    return b.toByteArray();
  }

  /** The encoded length of a value of {@code contentLength} octets (tag, length octets, content). */
  private static int length(int tag, int contentLength) {
    return 1 + lengthOctets(contentLength) + contentLength;
  }

  private static int lengthOctets(int length) {
    return length < 0x80 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : length < 0x1000000 ? 4 : 5;
  }

  /** A growable byte buffer with DER headers; one certificate's, on one thread. */
  static final class Buffer {
    private byte[] bytes;
    private int size;

    Buffer(int capacity) {
      bytes = new byte[capacity];
    }

    void write(int b) {
      ensure(1);
      bytes[size++] = (byte) b;
    }

    void write(byte[] b) {
      ensure(b.length);
      System.arraycopy(b, 0, bytes, size, b.length);
      size += b.length;
    }

    /** A tag and a definite length. */
    void header(int tag, int length) {
      ensure(6);
      bytes[size++] = (byte) tag;
      if (length < 0x80) {
        bytes[size++] = (byte) length;
        return;
      }
      int octets = lengthOctets(length) - 1;
      bytes[size++] = (byte) (0x80 | octets);
      for (int i = octets - 1; i >= 0; i--) {
        bytes[size++] = (byte) (length >>> (8 * i));
      }
    }

    void tlv(int tag, byte[] content) {
      header(tag, content.length);
      write(content);
    }

    /** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE (written only when true), OCTET STRING }. */
    void extension(byte[] oid, boolean critical, byte[] value) {
      int octetString = length(0x04, value.length);
      header(SEQUENCE, oid.length + (critical ? CRITICAL.length : 0) + octetString);
      write(oid);
      if (critical) {
        write(CRITICAL);
      }
      tlv(0x04, value);
    }

    /** What was written, as the content of one value tagged {@code tag}. */
    byte[] wrap(int tag) {
      byte[] out = new byte[length(tag, size)];
      Buffer head = new Buffer(6);
      head.header(tag, size);
      System.arraycopy(head.bytes, 0, out, 0, head.size);
      System.arraycopy(bytes, 0, out, head.size, size);
      return out;
    }

    byte[] toByteArray() {
      return java.util.Arrays.copyOf(bytes, size);
    }

    private void ensure(int more) {
      if (size + more > bytes.length) {
        bytes = java.util.Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
      }
    }
  }
}
