package dev.keywarden.server.wiring;

import dev.keywarden.pki.PkiEngine;
import dev.keywarden.transit.TransitEngine;
import dev.keywarden.unseal.PeriodicTasks;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.List;

/**
 * The engines' periodic work, registered once with the server's {@link PeriodicTasks}: transit auto-rotation once a
 * minute, and PKI CRLs rebuilt before they go stale (past half their 12-hour life) every few minutes, so relying
 * parties never get one about to expire even when nobody revoked or asked for a while.
 */
@Singleton
public final class EngineSchedules {
  static final Duration CRL_PERIOD = Duration.ofMinutes(5);

  public EngineSchedules(PeriodicTasks tasks, TransitEngine transit, PkiEngine pki) {
    tasks.schedule("auto-rotation", Duration.ofMinutes(1), Duration.ofMinutes(1), () -> {
      int rotated = transit.rotateDue();
      return rotated == 0 ? null : "rotated " + rotated + " transit keys";
    });
    tasks.schedule("CRL refresh", Duration.ofMinutes(1), CRL_PERIOD, () -> {
      List<String> rebuilt = pki.refreshCrls();
      return rebuilt.isEmpty() ? null : "rebuilt the CRLs of issuers " + rebuilt;
    });
  }
}
