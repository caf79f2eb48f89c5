package dev.keywarden.server.http;

import dev.keywarden.server.config.Version;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.CoreStatus;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import java.util.LinkedHashMap;
import java.util.Map;

/** GET /v1/sys/health: 200 unsealed, 503 sealed, 501 not initialized (load balancers route on the code). */
@Controller("/v1/sys")
public class HealthController {
  private final Core core;

  public HealthController(Core core) {
    this.core = core;
  }

  @Get(uri = "/health", produces = MediaType.APPLICATION_JSON)
  public HttpResponse<Map<String, Object>> health() {
    CoreStatus s = core.status();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("initialized", s.initialized());
    body.put("sealed", s.sealed());
    body.put("version", Version.VALUE);
    HttpStatus code = !s.initialized() ? HttpStatus.NOT_IMPLEMENTED
        : s.sealed() ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK;
    return HttpResponse.<Map<String, Object>>status(code).body(body);
  }
}
