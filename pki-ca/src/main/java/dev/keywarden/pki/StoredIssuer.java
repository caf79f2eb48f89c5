package dev.keywarden.pki;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KeyType;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * An issuer as stored under {@code pki/issuers/ID}. A pending issuer has a CSR and no certificate yet; an external
 * one (signed by a CA outside Keywarden) keeps that CA's certificates as {@code chain}.
 *
 * @param certificate the issuer's certificate (DER); null while pending
 * @param parentId the Keywarden issuer that signed it; null for a root or an external intermediate
 * @param csr the PKCS#10 request (DER) of an external intermediate; null for others
 * @param chain the external CA's certificates (DER), the one that signed this issuer first
 * @param replaces the issuer this one replaced in a rotation
 * @param replacedBy its successor: set when a rotation starts, the issuer is retired once the successor is active
 * @param issuedUntil the latest notAfter of what it issued (epoch seconds, rounded up to the hour); 0 for none
 * @param defaultOnActivation a pending issuer that becomes the default when its certificate is set
 * @param retiredAt when it was retired (epoch seconds); 0 unless retired
 * @param revokedAt when its parent revoked its certificate (epoch seconds); 0 unless revoked. A revoked issuer
 *     signs nothing new; its CRL and OCSP stay up for what it already issued.
 */
record StoredIssuer(
    @JsonProperty("id") String id,
    @JsonProperty("state") IssuerState state,
    @JsonProperty("certificate") byte[] certificate,
    @JsonProperty("hsm_label") String hsmLabel,
    @JsonProperty("hsm_id") String hsmId,
    @JsonProperty("key_type") KeyType keyType,
    @JsonProperty("parent_id") String parentId,
    @JsonProperty("base_url") String baseUrl,
    @JsonProperty("next_crl_number") long nextCrlNumber,
    @JsonProperty("external") boolean external,
    @JsonProperty("csr") byte[] csr,
    @JsonProperty("chain") List<byte[]> chain,
    @JsonProperty("replaces") String replaces,
    @JsonProperty("replaced_by") String replacedBy,
    @JsonProperty("issued_until") long issuedUntil,
    @JsonProperty("default_on_activation") boolean defaultOnActivation,
    @JsonProperty("retired_at") long retiredAt,
    @JsonProperty("revoked_at") long revokedAt) {

  StoredIssuer {
    state = state == null ? IssuerState.ACTIVE : state;
    chain = chain == null ? List.of() : List.copyOf(chain);
  }

  /** A new active issuer with its certificate. */
  static StoredIssuer active(String id, byte[] certificate, HsmKeyId key, KeyType type, String parentId,
      String baseUrl, String replaces) {
    return new StoredIssuer(id, IssuerState.ACTIVE, certificate, key.label(), key.idHex(), type, parentId, baseUrl, 1,
        false, null, List.of(), replaces, null, 0, false, 0, 0);
  }

  /** A new external intermediate waiting for the certificate an external CA makes from {@code csr}. */
  static StoredIssuer pending(String id, byte[] csr, HsmKeyId key, KeyType type, String baseUrl, String replaces,
      boolean defaultOnActivation) {
    return new StoredIssuer(id, IssuerState.PENDING, null, key.label(), key.idHex(), type, null, baseUrl, 1, true,
        csr, List.of(), replaces, null, 0, defaultOnActivation, 0, 0);
  }

  X509CertificateHolder holder() {
    if (certificate == null) {
      throw new IllegalStateException("issuer '" + id + "' is pending and has no certificate");
    }
    try {
      return new X509CertificateHolder(certificate);
    } catch (IOException e) {
      throw new IllegalStateException("stored issuer '" + id + "' holds an unreadable certificate", e);
    }
  }

  PKCS10CertificationRequest request() {
    try {
      return new PKCS10CertificationRequest(csr);
    } catch (IOException e) {
      throw new IllegalStateException("stored issuer '" + id + "' holds an unreadable CSR", e);
    }
  }

  /** The subject of its certificate, or of its CSR while pending. */
  X500Name subject() {
    return certificate != null ? holder().getSubject() : request().getSubject();
  }

  Issuer issuer() {
    return new Issuer(id, holder(), Optional.ofNullable(baseUrl));
  }

  HsmKeyId keyId() {
    return new HsmKeyId(hsmLabel, hsmId);
  }

  StoredIssuer withNextCrlNumber(long n) {
    return new StoredIssuer(id, state, certificate, hsmLabel, hsmId, keyType, parentId, baseUrl, n, external, csr,
        chain, replaces, replacedBy, issuedUntil, defaultOnActivation, retiredAt, revokedAt);
  }

  StoredIssuer withIssuedUntil(long until) {
    return new StoredIssuer(id, state, certificate, hsmLabel, hsmId, keyType, parentId, baseUrl, nextCrlNumber,
        external, csr, chain, replaces, replacedBy, until, defaultOnActivation, retiredAt, revokedAt);
  }

  /** Marks a rotation as started: {@code successor} replaces this issuer once it is active. */
  StoredIssuer withReplacedBy(String successor) {
    return new StoredIssuer(id, state, certificate, hsmLabel, hsmId, keyType, parentId, baseUrl, nextCrlNumber,
        external, csr, chain, replaces, successor, issuedUntil, defaultOnActivation, retiredAt, revokedAt);
  }

  StoredIssuer retired(String successor, long at) {
    return new StoredIssuer(id, IssuerState.RETIRED, certificate, hsmLabel, hsmId, keyType, parentId, baseUrl,
        nextCrlNumber, external, csr, chain, replaces, successor, issuedUntil, false, at, revokedAt);
  }

  /** Marks its certificate revoked by its parent at {@code at}. */
  StoredIssuer revoked(long at) {
    return new StoredIssuer(id, state, certificate, hsmLabel, hsmId, keyType, parentId, baseUrl, nextCrlNumber,
        external, csr, chain, replaces, replacedBy, issuedUntil, defaultOnActivation, retiredAt, at);
  }

  /** A pending issuer with the certificate the external CA made, and that CA's chain. */
  StoredIssuer activated(byte[] signed, List<byte[]> externalChain) {
    return new StoredIssuer(id, IssuerState.ACTIVE, signed, hsmLabel, hsmId, keyType, parentId, baseUrl,
        nextCrlNumber, external, csr, externalChain, replaces, replacedBy, issuedUntil, false, retiredAt, revokedAt);
  }
}
