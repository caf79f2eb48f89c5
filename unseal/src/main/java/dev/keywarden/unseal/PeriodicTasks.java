package dev.keywarden.unseal;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.storage.WorkLease;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one runner of engines' periodic work (auto-rotation, CRL refresh, tidy, key lifecycles), as Vault's
 * PeriodicFunc: each task runs on one daemon thread, a fixed delay after its last run ended, only while the core is
 * unsealed. A task returns a line worth logging (or null); a failure is logged as one line (engine messages hold no
 * secrets; other exceptions by class only) and never stops the schedule. Where several servers share storage, a task
 * runs only on the node holding the storage's work lease ({@link WorkLease}: always this node on SQLite), which a node
 * seeks while unsealed and gives up when it seals.
 */
public final class PeriodicTasks implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeriodicTasks.class);
  private final BooleanSupplier sealed;
  private final WorkLease lease;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keywarden-periodic");
    t.setDaemon(true);
    return t;
  });

  /** A runner for work over {@code core}, on the node that holds its storage's "periodic-work" lease. */
  public PeriodicTasks(Core core) {
    this(core::isSealed, core.storage().lease("periodic-work"));
    lease.want(!core.isSealed());
    core.addUnsealListener(() -> lease.want(true));
    core.addSealListener(() -> lease.want(false));
  }

  /** A runner whose tasks skip every run while {@code sealed} says so (one node: no lease). */
  public PeriodicTasks(BooleanSupplier sealed) {
    this(sealed, WorkLease.SOLE);
  }

  private PeriodicTasks(BooleanSupplier sealed, WorkLease lease) {
    this.sealed = sealed;
    this.lease = lease;
  }

  /** Whether this node holds the lease on periodic work now (for status). */
  public boolean holdsLease() {
    return lease.held();
  }

  /** Runs {@code task} {@code firstRun} from now, then {@code period} after each run ends, while unsealed. */
  public ScheduledFuture<?> schedule(String name, Duration firstRun, Duration period, Supplier<String> task) {
    return timer.scheduleWithFixedDelay(() -> runOnce(name, task), firstRun.toMillis(), period.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** One run of {@code task} now, on the caller's thread, under the same rules (nothing while sealed, never throws). */
  public void runOnce(String name, Supplier<String> task) {
    if (sealed.getAsBoolean() || !lease.held()) {
      return;
    }
    try {
      String done = task.get();
      if (done != null && !done.isEmpty()) {
        log.info("{}: {}", name, done);
      }
    } catch (KeywardenException e) {
      log.warn("{} failed: {}", name, e.getMessage());
    } catch (RuntimeException e) {
      log.warn("{} failed: {}", name, e.getClass().getName());
    }
  }

  /** Stops every task. */
  @Override
  public void close() {
    timer.shutdownNow();
    lease.close();
  }
}
