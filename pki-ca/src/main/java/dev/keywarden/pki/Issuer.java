package dev.keywarden.pki;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.bc.BcX509ExtensionUtils;

/**
 * An issuing CA as certificates see it: its id (in URLs), its certificate, and the base URL its CRL, OCSP and
 * CA-issuers URLs hang from (none: issued certificates carry no CRL DP or AIA). What every issuance takes from the
 * certificate (validity, the authority key identifier) is read from it once, here, not per certificate issued.
 *
 * @param notBefore the certificate's notBefore
 * @param notAfter the certificate's notAfter
 * @param authorityKeyIdentifier what certificates it issues carry as their AKI
 */
public record Issuer(String id, X509CertificateHolder certificate, Optional<String> baseUrl, Instant notBefore,
    Instant notAfter, AuthorityKeyIdentifier authorityKeyIdentifier) {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
  private static final Pattern BASE = Pattern.compile("https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*");

  public Issuer {
    if (id == null || !ID.matcher(id).matches()) {
      throw KeywardenException.invalid("issuer id: 1 to 64 letters, digits, '_' or '-'; got '"
          + Inputs.quoted(String.valueOf(id)) + "'");
    }
    if (certificate == null) {
      throw KeywardenException.invalid("issuer '" + id + "': a certificate is required");
    }
    baseUrl = checkBaseUrl(id, baseUrl);
  }

  /** An issuer; the derived components are read from {@code certificate}. */
  public Issuer(String id, X509CertificateHolder certificate, Optional<String> baseUrl) {
    this(id, certificate, baseUrl, certificate == null ? null : certificate.getNotBefore().toInstant(),
        certificate == null ? null : certificate.getNotAfter().toInstant(), authorityKeyIdentifierFor(certificate));
  }

  /** The issuer's own SKI when it has one, so path building matches byte for byte; else one derived from its key. */
  private static AuthorityKeyIdentifier authorityKeyIdentifierFor(X509CertificateHolder certificate) {
    if (certificate == null) {
      return null;
    }
    Extension ski = certificate.getExtension(Extension.subjectKeyIdentifier);
    return ski != null
        ? new AuthorityKeyIdentifier(SubjectKeyIdentifier.getInstance(ski.getParsedValue()).getKeyIdentifier())
        : new BcX509ExtensionUtils().createAuthorityKeyIdentifier(certificate.getSubjectPublicKeyInfo());
  }

  /** The base URL without a trailing '/'; INVALID_ARGUMENT unless it is http(s)://host[:port][/path]. */
  static Optional<String> checkBaseUrl(String id, Optional<String> baseUrl) {
    baseUrl = baseUrl == null ? Optional.empty() : baseUrl.map(u -> u.endsWith("/") ? u.substring(0, u.length() - 1) : u);
    if (baseUrl.isPresent() && !BASE.matcher(baseUrl.get()).matches()) {
      throw KeywardenException.invalid("issuer '" + id + "': base_url must be http(s)://host[:port][/path] with no"
          + " query; got '" + Inputs.quoted(baseUrl.get()) + "'");
    }
    return baseUrl;
  }

  /** Where the CRL of this issuer is published. */
  public Optional<String> crlUrl() {
    return baseUrl.map(b -> b + "/v1/pki/issuer/" + id + "/crl");
  }

  /** Where OCSP requests go. */
  public Optional<String> ocspUrl() {
    return baseUrl.map(b -> b + "/v1/pki/ocsp");
  }

  /** Where this issuer's certificate (DER) can be fetched. */
  public Optional<String> caIssuersUrl() {
    return baseUrl.map(b -> b + "/v1/pki/issuer/" + id + "/der");
  }
}
