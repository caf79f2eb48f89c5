package dev.keywarden.server.wiring;

import dev.keywarden.audit.AuditLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** SIGHUP reopens the audit file devices, as logrotate's postrotate expects of a daemon. */
public final class AuditHangup {
  private static final Logger log = LoggerFactory.getLogger(AuditHangup.class);

  private AuditHangup() {}

  /** Installs the handler; where the platform has no SIGHUP, says so and does nothing. */
  public static void install(AuditLog audit) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> {
        try {
          log.info("SIGHUP: reopened {} audit device(s)", audit.reopenAll());
        } catch (RuntimeException e) {
          log.warn("SIGHUP: reopening the audit devices failed: {}", e.getMessage());
        }
      });
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      log.info("no SIGHUP on this platform: reopen audit devices with `keywarden audit reopen`");
    }
  }
}
