package dev.keywarden.server.auth.cert;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.NamePatterns;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.pki.RevokedCertificate;
import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXCertPathValidatorResult;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.security.auth.x500.X500Principal;

/**
 * Whether a client certificate chain matches one cert role: the chain verifies (PKIX, every signature) up to an
 * issuer the role trusts — a Keywarden PKI issuer or one of its rotation successors, or an external CA — and the
 * leaf's names pass the role's name rules. A certificate (or intermediate) Keywarden's PKI has revoked is refused
 * outright, whichever role is asked. The TLS layer verified nothing but possession of the key; this is the trust.
 */
final class CertRoleMatcher {
  /** The most certificates of a client chain looked at (leaf and intermediates). */
  static final int MAX_CHAIN = 5;
  private static final int SAN_DNS = 2;
  private static final int SAN_URI = 6;

  private final PkiEngine pki;

  CertRoleMatcher(PkiEngine pki) {
    this.pki = pki;
  }

  /** The names of a leaf certificate the rules look at. */
  record Names(String commonName, List<String> dnsSans, List<String> uriSans) {
    static Names of(X509Certificate leaf) {
      List<String> dns = new ArrayList<>();
      List<String> uris = new ArrayList<>();
      try {
        Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
        if (sans != null) {
          for (List<?> san : sans) {
            if (san.size() >= 2 && san.get(1) instanceof String value) {
              int type = (Integer) san.get(0);
              if (type == SAN_DNS) {
                dns.add(value);
              } else if (type == SAN_URI) {
                uris.add(value);
              }
            }
          }
        }
      } catch (CertificateParsingException e) {
        // An unparsable SAN extension gives no names, so name rules refuse it.
      }
      return new Names(CertRoleMatcher.commonName(leaf.getSubjectX500Principal()), dns, uris);
    }
  }

  /**
   * Null when {@code chain} matches {@code role}; otherwise the rule it failed, naming the certificate's value, not
   * the role's patterns. UNAUTHENTICATED when a certificate of the verified chain is revoked.
   */
  String mismatch(CertRole role, X509Certificate[] chain, Names names, Instant now) {
    Map<X509Certificate, Boolean> anchors = anchors(role);
    if (anchors.isEmpty()) {
      return "no issuer the role trusts has a certificate (trusted_issuer_ids name missing, pending or revoked"
          + " issuers)";
    }
    Optional<List<X509Certificate>> path = verifiedPath(chain, anchors.keySet(), now);
    if (path.isEmpty()) {
      return "its chain does not verify up to an issuer the role trusts (trusted_issuer_ids, trusted_ca_pems)";
    }
    checkNotRevoked(path.get());
    if (!role.allowedCommonNames().isEmpty()
        && role.allowedCommonNames().stream().noneMatch(g -> NamePatterns.labelMatches(g, names.commonName()))) {
      return "its common name '" + Inputs.quoted(names.commonName()) + "' is not matched by allowed_common_names";
    }
    if (!role.allowedDnsSans().isEmpty() && names.dnsSans().stream()
        .noneMatch(d -> role.allowedDnsSans().stream().anyMatch(g -> NamePatterns.dnsMatches(g, d)))) {
      return "none of its DNS SANs " + quoted(names.dnsSans()) + " is matched by allowed_dns_sans";
    }
    if (!role.allowedUriSans().isEmpty() && names.uriSans().stream()
        .noneMatch(u -> role.allowedUriSans().stream().anyMatch(g -> NamePatterns.uriMatches(g, u)))) {
      return "none of its URI SANs " + quoted(names.uriSans()) + " is matched by allowed_uri_sans";
    }
    return null;
  }

  /**
   * The role's trust anchors → whether they are Keywarden issuers (whose revocations are checked). A Keywarden issuer
   * brings its rotation successors; missing, pending and revoked issuers bring nothing.
   */
  private Map<X509Certificate, Boolean> anchors(CertRole role) {
    Map<X509Certificate, Boolean> anchors = new HashMap<>();
    Set<String> seen = new HashSet<>();
    for (String id : role.trustedIssuerIds()) {
      Optional<String> next = Optional.of(id);
      while (next.isPresent() && seen.add(next.get())) {
        IssuerInfo issuer;
        try {
          issuer = pki.issuer(next.get());
        } catch (KeywardenException e) {
          if (e.kind() == Kind.NOT_FOUND) {
            break;
          }
          throw e;
        }
        byte[] der = issuer.certificateDer();
        if (der.length > 0 && issuer.revokedAt().isEmpty()) {
          anchors.put(parse(der), true);
        }
        next = issuer.replacedBy();
      }
    }
    role.trustedCas().forEach(ca -> anchors.putIfAbsent(ca, false));
    return anchors;
  }

  /** The shortest prefix of the client's chain that PKIX-verifies up to one of the anchors, anchor excluded. */
  private static Optional<List<X509Certificate>> verifiedPath(X509Certificate[] chain, Set<X509Certificate> anchors,
      Instant now) {
    Set<TrustAnchor> trust = new HashSet<>();
    anchors.forEach(a -> trust.add(new TrustAnchor(a, null)));
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      CertPathValidator validator = CertPathValidator.getInstance("PKIX");
      PKIXParameters params = new PKIXParameters(trust);
      params.setRevocationEnabled(false); // Keywarden's own revocations are checked below, from storage
      params.setDate(Date.from(now));
      for (int k = 1; k <= Math.min(chain.length, MAX_CHAIN); k++) {
        List<X509Certificate> prefix = Arrays.asList(chain).subList(0, k);
        CertPath path = cf.generateCertPath(prefix);
        try {
          PKIXCertPathValidatorResult r = (PKIXCertPathValidatorResult) validator.validate(path, params);
          if (r.getTrustAnchor().getTrustedCert() != null) {
            return Optional.of(prefix);
          }
        } catch (GeneralSecurityException doesNotVerify) {
          // try a longer prefix (the client sent intermediates)
        }
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("PKIX validation unavailable", e);
    }
    return Optional.empty();
  }

  /** UNAUTHENTICATED when Keywarden's PKI revoked a certificate of the path (the leaf or an intermediate). */
  private void checkNotRevoked(List<X509Certificate> path) {
    for (int i = 0; i < path.size(); i++) {
      String serial = path.get(i).getSerialNumber().toString(16);
      Optional<RevokedCertificate> revoked;
      try {
        revoked = pki.revocation(serial);
      } catch (KeywardenException e) {
        if (e.kind() == Kind.NOT_FOUND || e.kind() == Kind.INVALID_ARGUMENT) {
          continue; // not a certificate Keywarden stored (an external one, or of a no_store role): not revocable here
        }
        throw e;
      }
      if (revoked.isPresent() && sameCertificate(serial, path.get(i))) {
        throw new KeywardenException(Kind.UNAUTHENTICATED, (i == 0 ? "the client certificate" : "the CA certificate"
            + " that issued the client certificate") + " (serial " + serial + ") was revoked at "
            + Instant.ofEpochSecond(revoked.get().revokedAt()));
      }
    }
  }

  /** Whether the certificate Keywarden stored under this serial is this one (serials of other CAs may collide). */
  private boolean sameCertificate(String serial, X509Certificate cert) {
    try {
      return Arrays.equals(pki.certificate(serial).certificateDer(), cert.getEncoded());
    } catch (GeneralSecurityException | KeywardenException e) {
      return false;
    }
  }

  /** The subject's most specific CN; empty when it has none. */
  static String commonName(X500Principal subject) {
    String cn = "";
    try {
      // LdapName lists RDNs from the least specific (country) to the most specific.
      for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(subject.getName(X500Principal.RFC2253))
          .getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          cn = String.valueOf(rdn.getValue());
        }
      }
    } catch (javax.naming.InvalidNameException e) {
      return "";
    }
    return cn;
  }

  private static X509Certificate parse(byte[] der) {
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(der));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("a stored issuer certificate does not parse", e);
    }
  }

  private static String quoted(List<String> names) {
    List<String> shown = names.stream().limit(5).map(n -> "'" + Inputs.quoted(n) + "'").toList();
    return shown.isEmpty() ? "(none)" : "[" + String.join(", ", shown) + (names.size() > 5 ? ", …" : "") + "]";
  }
}
