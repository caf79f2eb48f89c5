package dev.keywarden.server.wiring;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.unseal.Core;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds PKI issuers' CRLs before they go stale (past half their 12-hour life), every few minutes while unsealed,
 * so relying parties that fetch a CRL never get one about to expire even when nobody revoked or asked for a while.
 */
@Singleton
public final class CrlRefresh {
  static final Duration PERIOD = Duration.ofMinutes(5);

  private static final Logger log = LoggerFactory.getLogger(CrlRefresh.class);
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keywarden-crl-refresh");
    t.setDaemon(true);
    return t;
  });
  private final Supplier<List<String>> refresh;
  private final BooleanSupplier sealed;

  @Inject
  public CrlRefresh(PkiEngine pki, Core core) {
    this(pki::refreshCrls, core::isSealed, Duration.ofMinutes(1), PERIOD);
  }

  /** Runs {@code refresh} after {@code firstRun}, then {@code period} after each run ends. */
  CrlRefresh(Supplier<List<String>> refresh, BooleanSupplier sealed, Duration firstRun, Duration period) {
    this.refresh = refresh;
    this.sealed = sealed;
    timer.scheduleWithFixedDelay(this::runOnce, firstRun.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One pass: nothing while sealed; failures are logged (engine messages hold no secrets), never thrown. */
  void runOnce() {
    if (sealed.getAsBoolean()) {
      return;
    }
    try {
      List<String> rebuilt = refresh.get();
      if (!rebuilt.isEmpty()) {
        log.info("CRL refresh: rebuilt the CRLs of issuers {}", rebuilt);
      }
    } catch (KeywardenException e) {
      log.warn("CRL refresh failed: {}", e.getMessage());
    } catch (RuntimeException e) {
      log.warn("CRL refresh failed: {}", e.getClass().getName());
    }
  }

  @PreDestroy
  void stop() {
    timer.shutdownNow();
  }
}
