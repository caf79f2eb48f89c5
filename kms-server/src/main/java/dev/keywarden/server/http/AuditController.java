package dev.keywarden.server.http;

import dev.keywarden.audit.AuditLog;
import dev.keywarden.failure.KeywardenException;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;

/**
 * GET /v1/sys/audit/public-key: the audit signing key's public half (PEM), public like a CA certificate, so whoever
 * keeps the logs can verify them offline with `keywarden audit verify --public-key`.
 */
@Controller("/v1/sys/audit")
public class AuditController {
  static final String PEM = "application/x-pem-file";
  private final AuditLog audit;

  public AuditController(AuditLog audit) {
    this.audit = audit;
  }

  @Get("/public-key")
  public HttpResponse<?> publicKey() {
    try {
      return HttpResponse.ok(audit.publicKeyPem()).contentType(PEM);
    } catch (KeywardenException e) {
      return EngineErrors.response(e);
    }
  }
}
