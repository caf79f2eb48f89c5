package dev.keywarden.hsm.pkcs11;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.StaticLogger;

/**
 * Routes the IAIK wrapper's own logging (stdout by default) into slf4j. Only warnings and errors pass: at info and
 * below the wrapper dumps token details and attribute templates, and we cannot vouch that none of them carries a value.
 */
final class WrapperLogging implements org.xipki.pkcs11.wrapper.Logger {
  private static final Logger LOG = LoggerFactory.getLogger("org.xipki.pkcs11");

  static {
    // The wrapper's logger is process-wide by its design; installing ours once is the only way to reach it.
    StaticLogger.setLogger(new WrapperLogging());
  }

  private WrapperLogging() {}

  /** Installs the routing (idempotent: the static initializer runs once). */
  static void install() {
    // class initialization does the work
  }

  @Override
  public void info(String format, Object... args) {}

  @Override
  public void warn(String format, Object... args) {
    LOG.warn(format, args);
  }

  @Override
  public void error(String format, Object... args) {
    LOG.error(format, args);
  }

  @Override
  public void debug(String format, Object... args) {}

  @Override
  public void trace(String format, Object... args) {}

  @Override
  public boolean isDebugEnabled() {
    return false;
  }

  @Override
  public boolean isInfoEnabled() {
    return false;
  }

  @Override
  public boolean isWarnEnabled() {
    return LOG.isWarnEnabled();
  }

  @Override
  public boolean isTraceEnabled() {
    return false;
  }
}
