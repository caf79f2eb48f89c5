package dev.keywarden.server.http;

import dev.keywarden.encoding.Pem;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.IssuerState;
import dev.keywarden.pki.PkiEngine;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.function.Supplier;

/**
 * The PKI's public endpoints (no token: relying parties fetch them): CA certificates and chains, CRLs and the OCSP
 * responder (RFC 6960, GET and POST). Paths match the CRL distribution point and AIA URLs in issued certificates.
 */
@Controller("/v1/pki")
public class PkiController {
  static final String PKIX_CERT = "application/pkix-cert";
  static final String PKIX_CRL = "application/pkix-crl";
  static final String PEM = "application/x-pem-file";
  static final String OCSP_REQUEST = "application/ocsp-request";
  static final String OCSP_RESPONSE = "application/ocsp-response";
  private final PkiEngine pki;

  public PkiController(PkiEngine pki) {
    this.pki = pki;
  }

  /** The default issuer's chain, PEM, leaf-most first (with an external root's certificates when it has one). */
  @Get("/ca")
  public HttpResponse<?> defaultChain() {
    return respond(() -> pem(pki.issuerChain(defaultIssuer().id())), PEM);
  }

  /** The default issuer's CRL, DER. */
  @Get("/crl")
  public HttpResponse<?> defaultCrl() {
    return respond(() -> pki.crl(defaultIssuer().id()), PKIX_CRL);
  }

  /** The default issuer's CRL, PEM. */
  @Get("/crl.pem")
  public HttpResponse<?> defaultCrlPem() {
    return respond(() -> pem("X509 CRL", pki.crl(defaultIssuer().id())), PEM);
  }

  /**
   * The CRLs of the default issuer and of every Keywarden issuer above it, PEM, leaf-most first: nginx's
   * {@code ssl_crl} and OpenSSL's {@code -crl_check_all} want a CRL for every CA in the chain, not only the last.
   */
  @Get("/crl/chain.pem")
  public HttpResponse<?> defaultCrlChainPem() {
    return respond(() -> crlsPem(pki.crlChain(defaultIssuer().id())), PEM);
  }

  /** An issuer's certificate, DER (the AIA caIssuers URL); retired issuers' too, pending ones have none (404). */
  @Get("/issuer/{id}/der")
  public HttpResponse<?> issuerDer(@PathVariable String id) {
    return respondForIssuer(id, () -> pki.issuerChain(id).get(0), PKIX_CERT);
  }

  /** An issuer's chain, PEM. */
  @Get("/issuer/{id}/pem")
  public HttpResponse<?> issuerPem(@PathVariable String id) {
    return respondForIssuer(id, () -> pem(pki.issuerChain(id)), PEM);
  }

  /** An issuer's CRL, DER (the CRL distribution point). */
  @Get("/issuer/{id}/crl")
  public HttpResponse<?> issuerCrl(@PathVariable String id) {
    return respondForIssuer(id, () -> pki.crl(id), PKIX_CRL);
  }

  /** An issuer's CRL, PEM. */
  @Get("/issuer/{id}/crl.pem")
  public HttpResponse<?> issuerCrlPem(@PathVariable String id) {
    return respondForIssuer(id, () -> pem("X509 CRL", pki.crl(id)), PEM);
  }

  /** The CRLs of an issuer and of every Keywarden issuer above it, PEM, leaf-most first. */
  @Get("/issuer/{id}/crl/chain.pem")
  public HttpResponse<?> issuerCrlChainPem(@PathVariable String id) {
    return respondForIssuer(id, () -> crlsPem(pki.crlChain(id)), PEM);
  }

  /**
   * OCSP over POST: the body is the DER request. Whatever the body, the answer is an OCSP response (malformedRequest
   * for one that is not a request, the engine checks size and form), never a text error.
   */
  @Post("/ocsp")
  @Consumes({OCSP_REQUEST, MediaType.APPLICATION_OCTET_STREAM})
  public HttpResponse<?> ocspPost(@Body @Nullable byte[] request) {
    return respond(() -> pki.ocsp(request), OCSP_RESPONSE);
  }

  /** OCSP over GET: the request is base64 (and URL-encoded) in the path, RFC 6960 appendix A.1. */
  @Get("/ocsp/{+request}")
  public HttpResponse<?> ocspGet(@PathVariable String request) {
    byte[] der = ocspRequestFromPath(request); // null, if not base64: the engine answers malformedRequest
    return respond(() -> pki.ocsp(der), OCSP_RESPONSE);
  }

  /**
   * The DER request from the GET path. The router may already have decoded percent-escapes, and '+' is a base64
   * character here, never a space: decode only escapes, then base64 (standard, or URL-safe from lenient clients).
   */
  static byte[] ocspRequestFromPath(String path) {
    if (path == null) {
      return null;
    }
    String text;
    try {
      text = URLDecoder.decode(path.replace("+", "%2B"), StandardCharsets.US_ASCII);
    } catch (IllegalArgumentException e) {
      return null;
    }
    try {
      return Base64.getDecoder().decode(text);
    } catch (IllegalArgumentException standard) {
      try {
        return Base64.getUrlDecoder().decode(text);
      } catch (IllegalArgumentException urlSafe) {
        return null;
      }
    }
  }

  private IssuerInfo defaultIssuer() {
    return pki.issuers().stream().filter(IssuerInfo::isDefault).findFirst()
        .orElseThrow(() -> KeywardenException.notFound("no issuer yet: generate a root first"));
  }

  private static byte[] pem(List<byte[]> certificates) {
    StringBuilder out = new StringBuilder();
    certificates.forEach(der -> out.append(new String(pem("CERTIFICATE", der), StandardCharsets.US_ASCII)));
    return out.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] crlsPem(List<byte[]> crls) {
    StringBuilder out = new StringBuilder();
    crls.forEach(der -> out.append(Pem.block("X509 CRL", der)));
    return out.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] pem(String type, byte[] der) {
    return Pem.block(type, der).getBytes(StandardCharsets.US_ASCII);
  }

  /** Runs {@code body}; engine errors become the matching HTTP status with the engine's message. */
  private static HttpResponse<?> respond(Supplier<byte[]> body, String contentType) {
    try {
      return HttpResponse.ok(body.get()).contentType(contentType);
    } catch (KeywardenException e) {
      return EngineErrors.response(e);
    }
  }

  /**
   * {@link #respond} for one issuer's certificate or CRL. A pending issuer has neither yet: that is 404 (nothing to
   * fetch here), not the 503 of FAILED_PRECONDITION (a sealed server, a key the HSM lost: try again later). The
   * issuer's state is read only once the engine has refused, so serving costs nothing more; while sealed that read
   * is refused too and the answer stays 503.
   */
  private HttpResponse<?> respondForIssuer(String id, Supplier<byte[]> body, String contentType) {
    try {
      return HttpResponse.ok(body.get()).contentType(contentType);
    } catch (KeywardenException e) {
      boolean notYet = e.kind() == KeywardenException.Kind.FAILED_PRECONDITION && pending(id);
      return EngineErrors.response(notYet ? HttpStatus.NOT_FOUND : EngineErrors.status(e), e);
    }
  }

  private boolean pending(String id) {
    try {
      return pki.issuer(id).state() == IssuerState.PENDING;
    } catch (KeywardenException e) {
      return false; // sealed, or deleted meanwhile: the engine's first answer stands
    }
  }
}
