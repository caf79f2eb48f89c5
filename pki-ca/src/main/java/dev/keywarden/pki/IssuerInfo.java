package dev.keywarden.pki;

import dev.keywarden.encoding.Pem;
import dev.keywarden.hsm.KeyType;
import java.time.Instant;
import java.util.Optional;

/**
 * An issuer as callers see it.
 *
 * @param id the issuer id (in URLs and storage keys)
 * @param state pending (waiting for its certificate), active or retired
 * @param subject the subject DN of its certificate (of its CSR while pending)
 * @param certificateDer the issuer's certificate; empty while pending
 * @param keyType the type of its key in the HSM
 * @param parentId the issuer that signed it, empty for a root or an external intermediate
 * @param external true when a CA outside Keywarden signs it
 * @param baseUrl where its CRL, OCSP and CA-issuers URLs hang from
 * @param notAfter when its certificate expires; empty while pending
 * @param isDefault true for the issuer used when a request names none
 * @param csrPem the CSR for the external CA, PEM; empty unless pending
 * @param replaces the issuer this one replaced in a rotation
 * @param replacedBy its successor in a rotation (pending while this one is still active)
 * @param issuedUntil the latest notAfter of what it issued, rounded up to the hour; empty for none
 * @param revokedAt when its parent revoked its certificate; empty unless revoked (it then signs nothing new)
 */
public record IssuerInfo(String id, IssuerState state, String subject, byte[] certificateDer, KeyType keyType,
    Optional<String> parentId, boolean external, Optional<String> baseUrl, Optional<Instant> notAfter,
    boolean isDefault, Optional<String> csrPem, Optional<String> replaces, Optional<String> replacedBy,
    Optional<Instant> issuedUntil, Optional<Instant> revokedAt) {

  public IssuerInfo {
    certificateDer = certificateDer == null ? new byte[0] : certificateDer.clone();
  }

  /** The certificate (DER); a copy, so callers cannot change this value. Empty while pending. */
  @Override
  public byte[] certificateDer() {
    return certificateDer.clone();
  }

  /** The certificate as PEM; empty while pending. */
  public String certificatePem() {
    return certificateDer.length == 0 ? "" : Pem.certificate(certificateDer);
  }
}
