package dev.keywarden.server.grpc;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmHealth;
import dev.keywarden.unseal.Core;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps grpc.health.v1 in step with the seal and the HSM: SERVING only while unsealed and the HSM answers. The HSM
 * side changes without any RPC (it goes away, the backend reconnects), so the status is also refreshed every second;
 * that reads what the backend last saw and never calls the HSM.
 */
@Singleton
public final class HealthReporter {
  private static final String[] SERVICES = {"keywarden.v1.SystemService", "keywarden.v1.TokenService",
      "keywarden.v1.PolicyService", "keywarden.v1.TransitService", "keywarden.v1.PkiService",
      "keywarden.v1.CertAuthService", "keywarden.v1.JwtAuthService"};

  private final HealthStatusManager health;
  private final Core core;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keywarden-health");
    t.setDaemon(true);
    return t;
  });

  public HealthReporter(HealthStatusManager health, Core core) {
    this.health = health;
    this.core = core;
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
    ServingStatus status = hsm != null && hsm.reachable() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
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
