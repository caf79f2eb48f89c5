package dev.keywarden.server.http;

import dev.keywarden.server.wiring.AuditMeters;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;

/** GET /v1/sys/metrics: Prometheus text exposition (gRPC requests by method and code, seal state, audit devices, JVM). */
@Controller("/v1/sys")
public class MetricsController {
  private final PrometheusMeterRegistry registry;
  private final AuditMeters audit;

  public MetricsController(PrometheusMeterRegistry registry, AuditMeters audit) {
    this.registry = registry;
    this.audit = audit;
  }

  @Get("/metrics")
  @Produces("text/plain; version=0.0.4; charset=utf-8")
  public String metrics() {
    audit.refresh();
    return registry.scrape();
  }
}
