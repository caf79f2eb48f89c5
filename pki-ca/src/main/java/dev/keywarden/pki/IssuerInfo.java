package dev.keywarden.pki;

import java.time.Instant;
import java.util.Optional;

/**
 * An issuer as callers see it.
 *
 * @param id the issuer id (in URLs and storage keys)
 * @param subject the certificate's subject DN
 * @param certificateDer the issuer's certificate
 * @param keyType the type of its key in the HSM
 * @param parentId the issuer that signed it, empty for a root
 * @param baseUrl where its CRL, OCSP and CA-issuers URLs hang from
 * @param notAfter when its certificate expires
 * @param isDefault true for the issuer used when a request names none
 */
public record IssuerInfo(String id, String subject, byte[] certificateDer, KeyType keyType, Optional<String> parentId,
    Optional<String> baseUrl, Instant notAfter, boolean isDefault) {

  public IssuerInfo {
    certificateDer = certificateDer.clone();
  }

  /** The certificate (DER); a copy, so callers cannot change this value. */
  @Override
  public byte[] certificateDer() {
    return certificateDer.clone();
  }

  /** The certificate as PEM. */
  public String certificatePem() {
    return Pem.certificate(certificateDer);
  }
}
