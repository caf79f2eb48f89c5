package dev.keywarden.pki;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.util.Optional;
import java.util.regex.Pattern;
import org.bouncycastle.cert.X509CertificateHolder;

/**
 * An issuing CA as certificates see it: its id (in URLs), its certificate, and the base URL its CRL, OCSP and
 * CA-issuers URLs hang from (none: issued certificates carry no CRL DP or AIA).
 */
public record Issuer(String id, X509CertificateHolder certificate, Optional<String> baseUrl) {
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
