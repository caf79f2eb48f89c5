package dev.keywarden.pki;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A revocation as stored under pki/revoked/ISSUER/SERIAL.
 *
 * @param serialHex the revoked certificate's serial
 * @param issuerId its issuer
 * @param revokedAt when it was revoked, epoch seconds
 * @param reason the RFC 5280 CRLReason code
 * @param notAfter the certificate's expiry, epoch seconds (after it the entry may be tidied away)
 */
public record RevokedCertificate(
    @JsonProperty("serial") String serialHex,
    @JsonProperty("issuer_id") String issuerId,
    @JsonProperty("revoked_at") long revokedAt,
    @JsonProperty("reason") int reason,
    @JsonProperty("not_after") long notAfter) {}
