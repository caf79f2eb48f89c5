package dev.keywarden.server.http;

import dev.keywarden.audit.AuditHealth;
import dev.keywarden.audit.AuditLog;
import dev.keywarden.hsm.HsmHealth;
import dev.keywarden.server.config.Version;
import dev.keywarden.server.grpc.HealthReporter;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.CoreStatus;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GET /v1/sys/health: 200 unsealed, 503 sealed, HSM unreachable or (with auditing on) no audit device able to write
 * (with the reason), 501 not initialized (load balancers route on the code). Cheap: the HSM state is what the backend last saw, no HSM call per request.
 */
@Controller("/v1/sys")
public class HealthController {
  private final Core core;
  private final AuditLog audit;

  public HealthController(Core core, AuditLog audit) {
    this.core = core;
    this.audit = audit;
  }

  @Get(uri = "/health", produces = MediaType.APPLICATION_JSON)
  public HttpResponse<Map<String, Object>> health() {
    CoreStatus s = core.status();
    HsmHealth hsm = s.sealed() ? null : HealthReporter.hsmHealth(core);
    boolean sealed = s.sealed() || (s.initialized() && hsm == null);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("initialized", s.initialized());
    body.put("sealed", sealed);
    body.put("version", Version.VALUE);
    if (hsm != null) {
      body.put("hsm_reachable", hsm.reachable());
      if (!hsm.reachable()) {
        body.put("reason", "the HSM is unreachable: " + hsm.reason());
        body.put("hsm_unreachable_since", hsm.since().toString());
      }
    }
    AuditHealth auditHealth = audit.health();
    body.put("audit", audit(auditHealth));
    boolean auditDown = !sealed && !auditHealth.available();
    if (auditDown && !body.containsKey("reason")) {
      body.put("reason", "the audit log is unavailable: no audit device can write, so every call fails closed");
    }
    HttpStatus code = !s.initialized() ? HttpStatus.NOT_IMPLEMENTED
        : sealed || !hsm.reachable() || auditDown ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK;
    return HttpResponse.<Map<String, Object>>status(code).body(body);
  }

  /** Whether calls can be audited (when auditing is on, calls fail UNAVAILABLE while no device writes). */
  private static Map<String, Object> audit(AuditHealth h) {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("enabled", h.enabled());
    a.put("available", h.available());
    List<Map<String, Object>> devices = new ArrayList<>();
    for (AuditHealth.DeviceHealth d : h.devices()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", d.name());
      m.put("state", d.state().name());
      if (!d.reason().isEmpty()) {
        m.put("reason", d.reason());
      }
      m.put("since", String.valueOf(d.since()));
      m.put("queue_depth", d.queueDepth());
      devices.add(m);
    }
    a.put("devices", devices);
    return a;
  }
}
