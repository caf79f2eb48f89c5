package dev.keywarden.server.wiring;

import dev.keywarden.audit.AuditLog;
import dev.keywarden.audit.AuditMetrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The audit log's counters as Micrometer meters, per device: records written, failures, fsyncs, checkpoints, queue
 * depth and the write latency (count and sum, and the cumulative count under each bucket bound as
 * {@code keywarden_audit_write_latency_le{le="…"}}). Devices appear while the server runs, so {@link #refresh} (called
 * before each scrape) takes one snapshot and registers the meters of devices it has not seen.
 */
public final class AuditMeters {
  private final AuditLog audit;
  private final MeterRegistry registry;
  private final Set<String> registered = ConcurrentHashMap.newKeySet();
  private volatile AuditMetrics snapshot;

  public AuditMeters(AuditLog audit, MeterRegistry registry) {
    this.audit = audit;
    this.registry = registry;
    this.snapshot = audit.metrics();
    FunctionCounter.builder("keywarden.audit.requests.refused", this, m -> m.snapshot.requestsRefused())
        .description("calls failed UNAVAILABLE because no audit device wrote their request record")
        .register(registry);
    FunctionCounter.builder("keywarden.audit.responses.lost", this, m -> m.snapshot.responsesLost())
        .description("response records no audit device wrote (each is logged)").register(registry);
  }

  /** Takes a new snapshot; registers the meters of devices opened since the last one. */
  public void refresh() {
    AuditMetrics now = audit.metrics();
    snapshot = now;
    for (AuditMetrics.Device d : now.devices()) {
      if (registered.add(d.device())) {
        register(d.device(), d.writeLatency().upperBounds());
      }
    }
  }

  private void register(String device, List<Duration> bounds) {
    counter("keywarden.audit.records.written", device, "records written (and fsynced, for a file)",
        AuditMetrics.Device::recordsWritten);
    counter("keywarden.audit.failures", device, "records the device refused, timed out on or failed to write",
        AuditMetrics.Device::failures);
    counter("keywarden.audit.writes", device, "write calls (a batch is one)", AuditMetrics.Device::writes);
    counter("keywarden.audit.fsyncs", device, "fsyncs", AuditMetrics.Device::fsyncs);
    counter("keywarden.audit.checkpoints", device, "signed checkpoints written", AuditMetrics.Device::checkpoints);
    counter("keywarden.audit.checkpoint.failures", device, "checkpoints that could not be signed or written",
        AuditMetrics.Device::checkpointFailures);
    Gauge.builder("keywarden.audit.queue.depth", this, m -> value(m, device, AuditMetrics.Device::queueDepth))
        .tag("device", device).description("records waiting for the device's writer").register(registry);
    FunctionTimer.builder("keywarden.audit.write.latency", this,
            m -> (long) value(m, device, d -> d.writeLatency().count()),
            m -> value(m, device, d -> d.writeLatency().sum().toNanos()), TimeUnit.NANOSECONDS)
        .tag("device", device).description("from a call handing its record over to the record being written")
        .register(registry);
    for (int i = 0; i < bounds.size(); i++) {
      int upTo = i;
      String le = Double.toString(bounds.get(i).toNanos() / 1e9);
      Gauge.builder("keywarden.audit.write.latency.le", this, m -> value(m, device, d -> cumulative(d, upTo)))
          .tags("device", device, "le", le).baseUnit("records")
          .description("records written within le seconds (cumulative)").register(registry);
    }
  }

  private void counter(String name, String device, String description,
      ToDoubleFunction<AuditMetrics.Device> f) {
    FunctionCounter.builder(name, this, m -> value(m, device, f)).tag("device", device).description(description)
        .register(registry);
  }

  private static double cumulative(AuditMetrics.Device d, int upTo) {
    long[] counts = d.writeLatency().counts();
    long n = 0;
    for (int i = 0; i <= upTo; i++) {
      n += counts[i];
    }
    return n;
  }

  private static double value(AuditMeters m, String device, ToDoubleFunction<AuditMetrics.Device> f) {
    for (AuditMetrics.Device d : m.snapshot.devices()) {
      if (d.device().equals(device)) {
        return f.applyAsDouble(d);
      }
    }
    return 0;
  }
}
