package dev.keywarden.hsm.pkcs11;

import dev.keywarden.failure.KeywardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Module;

/**
 * A PKCS#11 library loaded and initialized in this process, shared by every provider that names the same file.
 *
 * <p>C_Initialize and C_Finalize act on the whole process, not on one caller, so this is the one place that keeps
 * process-wide state: a lease count per library. The first lease initializes the library, the last release finalizes
 * it. Finalizing when nothing is open matters: SoftHSM2 reads its configuration and scans its token directory only in
 * C_Initialize, so a token created after that (by softhsm2-util, or by an operator) is visible after the next
 * initialize. The loaded {@link PKCS11Module} itself is kept for the life of the process, because unloading the
 * native library while the JVM may still reference it is never worth the risk.
 *
 * <p>Also tracks which tokens are open: PKCS#11 login state belongs to the application, not the session, so a
 * second logged-in handle on the same token would be logged out when the first one closes.
 */
final class Pkcs11Library {

  private static final Logger LOG = LoggerFactory.getLogger(Pkcs11Library.class);
  private static final Object LOCK = new Object();
  private static final Map<Path, Pkcs11Library> LOADED = new HashMap<>();

  private final Path path;
  private final PKCS11Module module;
  private final Set<String> openTokens = new HashSet<>();
  private int leases;

  private Pkcs11Library(Path path, PKCS11Module module) {
    this.path = path;
    this.module = module;
  }

  /** Loads (once per process) and initializes (once per lease period) the library, and takes a lease on it. */
  static Pkcs11Library lease(Path library) {
    Path key = canonical(library);
    synchronized (LOCK) {
      Pkcs11Library loaded = LOADED.get(key);
      if (loaded == null) {
        loaded = new Pkcs11Library(key, load(library, key));
        LOADED.put(key, loaded);
      }
      if (loaded.leases == 0) {
        try {
          loaded.module.initialize();
        } catch (PKCS11Exception e) {
          if (e.getErrorCode() != PKCS11Constants.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
            throw Pkcs11Failures.unavailable("initializing PKCS#11 library '" + library + "'", e);
          }
        }
      }
      loaded.leases++;
      return loaded;
    }
  }

  /** Gives back a lease; the last one finalizes the library so a later lease re-reads the token list. */
  void release() {
    synchronized (LOCK) {
      if (leases == 0) {
        return;
      }
      leases--;
      if (leases == 0) {
        try {
          module.finalize(null);
        } catch (PKCS11Exception e) {
          // Nothing to recover: the next lease initializes again, and CKR_CRYPTOKI_ALREADY_INITIALIZED is accepted.
          LOG.warn("C_Finalize of {} failed: {}", path, Pkcs11Failures.name(e));
        }
      }
    }
  }

  /** Marks a token as logged in through this process; false when it already is. */
  boolean claimToken(String label) {
    synchronized (LOCK) {
      return openTokens.add(label);
    }
  }

  void unclaimToken(String label) {
    synchronized (LOCK) {
      openTokens.remove(label);
    }
  }

  PKCS11Module module() {
    return module;
  }

  private static PKCS11Module load(Path library, Path key) {
    if (!Files.isRegularFile(key)) {
      throw KeywardenException.precondition("cannot load PKCS#11 library '" + library + "': no such file");
    }
    try {
      return PKCS11Module.getInstance(key.toString());
    } catch (IOException | UnsatisfiedLinkError e) {
      throw new KeywardenException(KeywardenException.Kind.FAILED_PRECONDITION,
          "cannot load PKCS#11 library '" + library + "': " + e.getMessage(), e);
    }
  }

  private static Path canonical(Path library) {
    try {
      return library.toRealPath();
    } catch (IOException e) {
      return library.toAbsolutePath().normalize();
    }
  }
}
