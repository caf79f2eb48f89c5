package dev.keywarden.server.grpc;

import dev.keywarden.unseal.Core;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import jakarta.inject.Singleton;

/** Keeps grpc.health.v1 in step with the seal: SERVING only while unsealed. */
@Singleton
public final class HealthReporter {
  private final HealthStatusManager health;
  private final Core core;

  public HealthReporter(HealthStatusManager health, Core core) {
    this.health = health;
    this.core = core;
    refresh();
  }

  /** Publishes the current seal state. */
  public void refresh() {
    ServingStatus status = core.isSealed() ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, status);
    for (String service : new String[] {"keywarden.v1.SystemService", "keywarden.v1.TokenService",
        "keywarden.v1.PolicyService", "keywarden.v1.TransitService", "keywarden.v1.PkiService"}) {
      health.setStatus(service, status);
    }
  }
}
