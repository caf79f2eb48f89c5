package dev.keywarden.server.grpc;

import dev.keywarden.audit.AuditLog;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmHealth;
import dev.keywarden.unseal.Core;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps grpc.health.v1 in step with the seal, the HSM and the audit log: SERVING only while unsealed, the HSM answers
 * and (with auditing on) some audit device writes. The HSM and audit sides change without any RPC (it goes away, the backend reconnects), so the status is also refreshed every second;
 * that reads what the backend last saw and never calls the HSM.
 */
@Singleton
public final class HealthReporter {
  /** Every service the gate serves (GateTest checks that this names each of keywarden.v1's services). */
  public static final List<String> SERVICES = List.of("keywarden.v1.SystemService", "keywarden.v1.TokenService",
      "keywarden.v1.PolicyService", "keywarden.v1.TransitService", "keywarden.v1.PkiService",
      "keywarden.v1.CertAuthService", "keywarden.v1.JwtAuthService", "keywarden.v1.SshService",
      "keywarden.v1.JwtService", "keywarden.v1.AuditService");

  private final HealthStatusManager health;
  private final Core core;
  private final AuditLog audit;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keywarden-health");
    t.setDaemon(true);
    return t;
  });

  public HealthReporter(HealthStatusManager health, Core core, AuditLog audit) {
    this.health = health;
    this.core = core;
    this.audit = audit;
    refresh();
    timer.scheduleWithFixedDelay(this::refresh, 1, 1, TimeUnit.SECONDS);
  }

  /** The HSM's health while unsealed; null while sealed (the seal is then the reason). */
  public static HsmHealth hsmHealth(Core core) {
    if (core.isSealed()) {
      return null;
    }
    try {
      return core.unsealed().hsm().health();
    } catch (KeywardenException sealedMeanwhile) {
      return null;
    }
  }

  /** Publishes the current seal and HSM state. */
  public void refresh() {
    HsmHealth hsm = hsmHealth(core);
    // with auditing on and no device able to write, every call fails closed: not serving until one writes again
    ServingStatus status = hsm != null && hsm.reachable() && audit.health().available() ? ServingStatus.SERVING
        : ServingStatus.NOT_SERVING;
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, status);
    for (String service : SERVICES) {
      health.setStatus(service, status);
    }
  }

  @PreDestroy
  void stop() {
    timer.shutdownNow();
  }
}
