package dev.keywarden.pki;

import dev.keywarden.failure.KeywardenException;
import java.io.IOException;
import java.io.StringReader;
import java.security.PublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * The certificate an external CA made from a pending issuer's CSR, with that CA's chain, checked before anything is
 * stored: the pending key, a CA, valid now, allowed to sign certificates, and each certificate signed by the next.
 */
record SignedIntermediate(X509CertificateHolder certificate, List<X509CertificateHolder> chain) {
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();
  private static final int MAX_CHAIN = 8;

  /** Parses and checks; INVALID_ARGUMENT names the field and what to do about it. */
  static SignedIntermediate check(String issuerId, SubjectPublicKeyInfo pendingKey, String certificatePem,
      List<String> chainPem, Instant now) {
    // One untrusted-DER step for the parse and every read of the certificates: Bouncy Castle parses lazily.
    return UntrustedDer.read("certificate_pem or chain_pem: a certificate is not well-formed DER",
        () -> checked(issuerId, pendingKey, certificatePem, chainPem, now));
  }

  private static SignedIntermediate checked(String issuerId, SubjectPublicKeyInfo pendingKey, String certificatePem,
      List<String> chainPem, Instant now) {
    List<X509CertificateHolder> certs = certificates("certificate_pem", certificatePem);
    if (certs.size() != 1) {
      throw KeywardenException.invalid("certificate_pem: expected one certificate (the intermediate), got "
          + certs.size() + "; give the external CA's certificates as chain_pem");
    }
    X509CertificateHolder cert = certs.get(0);
    requireKey(issuerId, cert, pendingKey);
    requireCa(cert);
    requireValid(cert, now);
    List<X509CertificateHolder> chain = new ArrayList<>();
    for (String pem : chainPem == null ? List.<String>of() : chainPem) {
      chain.addAll(certificates("chain_pem", pem));
    }
    if (chain.size() > MAX_CHAIN) {
      throw KeywardenException.invalid("chain_pem: " + chain.size() + " certificates; at most " + MAX_CHAIN);
    }
    requireLinked(cert, chain);
    return new SignedIntermediate(cert, List.copyOf(chain));
  }

  private static List<X509CertificateHolder> certificates(String field, String pem) {
    List<X509CertificateHolder> out = new ArrayList<>();
    try (PEMParser parser = new PEMParser(new StringReader(pem == null ? "" : pem))) {
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (!(o instanceof X509CertificateHolder h)) {
          throw KeywardenException.invalid(field + ": holds a " + o.getClass().getSimpleName()
              + " where a PEM certificate (-----BEGIN CERTIFICATE-----) belongs");
        }
        out.add(h);
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof KeywardenException k) {
        throw k;
      }
      // Which field it was is worth saying; the step in check() catches what later reads run into.
      throw KeywardenException.invalid(field + ": not a readable PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    if (out.isEmpty()) {
      throw KeywardenException.invalid(field + ": no PEM certificate (-----BEGIN CERTIFICATE-----) found");
    }
    return out;
  }

  private static void requireKey(String issuerId, X509CertificateHolder cert, SubjectPublicKeyInfo pendingKey) {
    SubjectPublicKeyInfo got = cert.getSubjectPublicKeyInfo();
    if (!got.equals(pendingKey) && !publicKey(got).equals(publicKey(pendingKey))) {
      throw KeywardenException.invalid("certificate_pem: its public key is not the key of pending issuer '"
          + issuerId + "'; have the external CA sign the CSR this issuer printed (GetIssuer shows it again)");
    }
  }

  private static void requireCa(X509CertificateHolder cert) {
    BasicConstraints bc = BasicConstraints.fromExtensions(cert.getExtensions());
    if (bc == null || !bc.isCA()) {
      throw KeywardenException.invalid("certificate_pem: not a CA certificate (basicConstraints cA=true is"
          + " missing); have the external CA sign it with basicConstraints=critical,CA:true");
    }
    KeyUsage ku = KeyUsage.fromExtensions(cert.getExtensions());
    if (ku != null && !ku.hasUsages(KeyUsage.keyCertSign)) {
      throw KeywardenException.invalid("certificate_pem: its keyUsage lacks keyCertSign, so it may not sign"
          + " certificates; have the external CA sign it with keyUsage=critical,keyCertSign,cRLSign");
    }
  }

  private static void requireValid(X509CertificateHolder cert, Instant now) {
    Instant notBefore = cert.getNotBefore().toInstant();
    Instant notAfter = cert.getNotAfter().toInstant();
    if (!now.isBefore(notAfter)) {
      throw KeywardenException.invalid("certificate_pem: expired at " + notAfter + "; have the external CA sign"
          + " the CSR again");
    }
    if (now.isBefore(notBefore)) {
      throw KeywardenException.invalid("certificate_pem: not valid before " + notBefore + " (now " + now
          + "); check the external CA's clock or wait");
    }
  }

  /** Each certificate must be signed by the one after it, so the chain served to clients builds a path. */
  private static void requireLinked(X509CertificateHolder cert, List<X509CertificateHolder> chain) {
    X509CertificateHolder child = cert;
    for (int i = 0; i < chain.size(); i++) {
      X509CertificateHolder parent = chain.get(i);
      if (!child.getIssuer().equals(parent.getSubject()) || !signedBy(child, parent)) {
        throw KeywardenException.invalid("chain_pem: certificate " + (i + 1) + " (" + parent.getSubject()
            + ") did not sign " + (i == 0 ? "the intermediate" : "certificate " + i) + " (" + child.getSubject()
            + "); give the external CA's certificates in order, the one that signed the intermediate first");
      }
      child = parent;
    }
  }

  private static boolean signedBy(X509CertificateHolder child, X509CertificateHolder parent) {
    return SignatureCheck.certificateSignedBy(child, SignatureCheck.key(parent.getSubjectPublicKeyInfo()));
  }


  private static PublicKey publicKey(SubjectPublicKeyInfo spki) {
    try {
      return new JcaPEMKeyConverter().setProvider(BC).getPublicKey(spki);
    } catch (IOException e) {
      throw KeywardenException.invalid("certificate_pem: its public key does not parse");
    }
  }
}
