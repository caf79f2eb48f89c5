package dev.keywarden.pki;

import dev.keywarden.failure.KeywardenException;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.ocsp.OCSPRequest;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.Req;

/**
 * An OCSP request (RFC 6960) read from untrusted DER in one step, every field the responder uses read here, so
 * nothing later can meet malformed structure: the CertIDs asked about and the nonce extension, if any. The
 * request's optional signature is not read: this responder answers anyone.
 *
 * @param ids the CertIDs, at least one
 * @param nonce the id-pkix-ocsp-nonce extension to echo, or null
 */
record OcspRequest(List<CertificateID> ids, Extension nonce) {
  /** The largest request read; a request for a few certificates is a few hundred bytes. */
  static final int MAX_BYTES = 16 * 1024;
  /** More CertIDs than this in one request is refused: each costs a storage read and a signed answer. */
  static final int MAX_IDS = 100;
  private static final String NOT_A_REQUEST = "not a DER OCSP request (RFC 6960)";

  OcspRequest {
    ids = List.copyOf(ids);
  }

  /** Parses a DER request; INVALID_ARGUMENT (answered as malformedRequest) says why it is not one. */
  static OcspRequest parse(byte[] der) {
    if (der == null || der.length == 0 || der.length > MAX_BYTES) {
      throw KeywardenException.invalid("an OCSP request is 1.." + MAX_BYTES + " bytes of DER");
    }
    UntrustedDer.checkDer(NOT_A_REQUEST, der);
    return UntrustedDer.read(NOT_A_REQUEST, () -> {
      OCSPReq request = new OCSPReq(OCSPRequest.getInstance(ASN1Primitive.fromByteArray(der)));
      Req[] items = request.getRequestList();
      if (items.length == 0 || items.length > MAX_IDS) {
        throw KeywardenException.invalid("an OCSP request asks about 1.." + MAX_IDS + " certificates");
      }
      List<CertificateID> ids = new ArrayList<>(items.length);
      for (Req item : items) {
        CertificateID id = item.getCertID();
        // Read every field now: CertificateID parses them only when asked.
        id.getHashAlgOID();
        id.getIssuerNameHash();
        id.getIssuerKeyHash();
        id.getSerialNumber();
        id.toASN1Primitive().getEncoded();
        ids.add(id);
      }
      Extension nonce = request.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
      if (nonce != null) {
        nonce.getEncoded();
      }
      return new OcspRequest(ids, nonce);
    });
  }
}
