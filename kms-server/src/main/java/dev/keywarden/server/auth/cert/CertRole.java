package dev.keywarden.server.auth.cert;

import dev.keywarden.encoding.Pem;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.NamePatterns;
import dev.keywarden.pki.Role;
import dev.keywarden.server.auth.Policy;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A cert role: which TLS client certificates it accepts (trusted issuers, allowed names; the clientAuth extended key
 * usage always) and what they get (policies, the lifetime of login tokens). Validated and normalized on construction.
 *
 * @param trustedIssuerIds Keywarden PKI issuers whose certificates (and whose rotation successors' certificates) it trusts
 * @param trustedCaPems external CA certificates, PEM, trusted as chain anchors
 * @param allowedCommonNames globs, one of which the subject CN must match; empty: no CN rule
 * @param allowedDnsSans globs, one of which some DNS SAN must match; empty: no DNS SAN rule
 * @param allowedUriSans globs, one of which some URI SAN must match; empty: no URI SAN rule
 */
public record CertRole(String name, List<String> trustedIssuerIds, List<String> trustedCaPems,
    List<String> allowedCommonNames, List<String> allowedDnsSans, List<String> allowedUriSans, List<String> policies,
    Duration tokenTtl) {
  public static final Duration DEFAULT_TTL = Duration.ofHours(1);
  public static final Duration MAX_TTL = Duration.ofHours(8760);
  static final int MAX_ENTRIES = 100;
  static final int MAX_CAS = 16;
  static final int MAX_PEM_CHARS = 16 * 1024;
  private static final Pattern ISSUER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

  public CertRole {
    name = Role.checkName(name);
    String r = "cert role '" + name + "': ";
    trustedIssuerIds = distinct(r, "trusted_issuer_ids", trustedIssuerIds, MAX_ENTRIES);
    for (String id : trustedIssuerIds) {
      if (!ISSUER_ID.matcher(id).matches()) {
        throw KeywardenException.invalid(r + "trusted_issuer_ids: '" + Inputs.quoted(id) + "' is not an issuer id"
            + " (1 to 64 letters, digits, '_' or '-'); `keywarden pki issuers` lists them");
      }
    }
    trustedCaPems = distinct(r, "trusted_ca_pems", trustedCaPems, MAX_CAS);
    List<String> pems = new ArrayList<>();
    for (int i = 0; i < trustedCaPems.size(); i++) {
      pems.add(normalizedCaPem(r + "trusted_ca_pems[" + i + "]: ", trustedCaPems.get(i)));
    }
    trustedCaPems = List.copyOf(pems);
    if (trustedIssuerIds.isEmpty() && trustedCaPems.isEmpty()) {
      throw KeywardenException.invalid(r + "trusts no issuer: give trusted_issuer_ids (Keywarden PKI issuers) or"
          + " trusted_ca_pems (external CA certificates)");
    }
    allowedCommonNames = distinct(r, "allowed_common_names", allowedCommonNames, MAX_ENTRIES).stream()
        .map(g -> NamePatterns.labelGlob(r + "allowed_common_names: ", g)).distinct().toList();
    allowedDnsSans = distinct(r, "allowed_dns_sans", allowedDnsSans, MAX_ENTRIES).stream()
        .map(g -> NamePatterns.dnsGlob(r + "allowed_dns_sans: ", g)).distinct().toList();
    allowedUriSans = distinct(r, "allowed_uri_sans", allowedUriSans, MAX_ENTRIES).stream()
        .map(g -> NamePatterns.uriGlob(r + "allowed_uri_sans: ", g)).distinct().toList();
    policies = distinct(r, "policies", policies, MAX_ENTRIES);
    if (policies.isEmpty()) {
      throw KeywardenException.invalid(r + "policies: name at least one policy");
    }
    policies.forEach(Policy::validateName);
    tokenTtl = tokenTtl == null || tokenTtl.isZero() ? DEFAULT_TTL : tokenTtl;
    if (tokenTtl.isNegative() || tokenTtl.compareTo(MAX_TTL) > 0) {
      throw KeywardenException.invalid(r + "token_ttl must be positive and at most 8760h");
    }
  }

  /** The external CA certificates, parsed. */
  public List<X509Certificate> trustedCas() {
    List<X509Certificate> out = new ArrayList<>();
    for (String pem : trustedCaPems) {
      out.add(parse("", pem));
    }
    return out;
  }

  private static List<String> distinct(String r, String field, Collection<String> values, int max) {
    List<String> v = values == null ? List.of() : List.copyOf(new LinkedHashSet<>(values));
    if (v.size() > max) {
      throw KeywardenException.invalid(r + field + ": at most " + max + " entries, got " + v.size());
    }
    for (String s : v) {
      if (s == null || s.isBlank()) {
        throw KeywardenException.invalid(r + field + ": an entry is empty");
      }
    }
    return v;
  }

  private static String normalizedCaPem(String prefix, String pem) {
    if (pem.length() > MAX_PEM_CHARS) {
      throw KeywardenException.invalid(prefix + "a CA certificate PEM is at most " + MAX_PEM_CHARS + " characters");
    }
    X509Certificate ca = parse(prefix, pem);
    if (ca.getBasicConstraints() < 0) {
      throw KeywardenException.invalid(prefix + "'" + Inputs.quoted(ca.getSubjectX500Principal().getName())
          + "' is not a CA certificate (no basicConstraints CA:true)");
    }
    try {
      return Pem.certificate(ca.getEncoded());
    } catch (java.security.cert.CertificateEncodingException e) {
      throw KeywardenException.invalid(prefix + "the CA certificate cannot be encoded");
    }
  }

  private static X509Certificate parse(String prefix, String pem) {
    try {
      var all = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
      if (all.size() != 1) {
        throw KeywardenException.invalid(prefix + "give exactly one PEM certificate per entry, got " + all.size());
      }
      return (X509Certificate) all.iterator().next();
    } catch (CertificateException e) {
      throw KeywardenException.invalid(prefix + "not a PEM X.509 certificate");
    }
  }
}
