package dev.keywarden.server.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;

/** GET /v1/sys/metrics: Prometheus text exposition (gRPC requests by method and code, seal state, JVM). */
@Controller("/v1/sys")
public class MetricsController {
  private final PrometheusMeterRegistry registry;

  public MetricsController(PrometheusMeterRegistry registry) {
    this.registry = registry;
  }

  @Get("/metrics")
  @Produces("text/plain; version=0.0.4; charset=utf-8")
  public String metrics() {
    return registry.scrape();
  }
}
