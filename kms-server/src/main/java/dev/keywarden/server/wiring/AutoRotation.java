package dev.keywarden.server.wiring;

import dev.keywarden.transit.TransitEngine;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Rotates transit keys whose auto_rotate_period has passed, once a minute while unsealed. */
@Singleton
public final class AutoRotation {
  private static final Logger log = LoggerFactory.getLogger(AutoRotation.class);
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keywarden-auto-rotation");
    t.setDaemon(true);
    return t;
  });

  public AutoRotation(TransitEngine transit) {
    timer.scheduleWithFixedDelay(() -> {
      try {
        int rotated = transit.rotateDue();
        if (rotated > 0) {
          log.info("auto-rotation: rotated {} transit keys", rotated);
        }
      } catch (RuntimeException e) {
        log.warn("auto-rotation failed: {}", e.getClass().getName());
      }
    }, 1, 1, TimeUnit.MINUTES);
  }

  @PreDestroy
  void stop() {
    timer.shutdownNow();
  }
}
