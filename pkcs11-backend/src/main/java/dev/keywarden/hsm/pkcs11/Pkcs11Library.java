package dev.keywarden.hsm.pkcs11;

import dev.keywarden.failure.KeywardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Module;
import org.xipki.pkcs11.wrapper.Slot;
import org.xipki.pkcs11.wrapper.Token;

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
 *
 * <p>A token that went away and came back may need the library initialized again: SoftHSM2 2.6.1 marks a token whose
 * directory vanished as invalid for good and only reads it again in C_Initialize (see {@link Pkcs11Connection}).
 * {@link #reinitialize} does that once per {@link #generation()}, so two tokens recovering at once do not finalize
 * each other's fresh sessions in turn, and it holds {@link #calls()} exclusively: C_Finalize while another thread is
 * inside a call is undefined behaviour, so every PKCS#11 call holds the shared side of that lock.
 */
final class Pkcs11Library {

  private static final Logger LOG = LoggerFactory.getLogger(Pkcs11Library.class);
  private static final Object LOCK = new Object();
  private static final Map<Path, Pkcs11Library> LOADED = new HashMap<>();

  private final Path path;
  private final PKCS11Module module;
  private final Set<String> openTokens = new HashSet<>();
  private final ReentrantReadWriteLock calls = new ReentrantReadWriteLock();
  private int leases;
  // written under LOCK with calls() held exclusively: bumped each time the library is initialized again, which
  // invalidates every session; read by every call, so volatile rather than under LOCK
  private volatile long generation;

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
    Lock exclusive = calls.writeLock();
    exclusive.lock();
    try {
      synchronized (LOCK) {
        if (leases == 0) {
          return;
        }
        leases--;
        if (leases == 0) {
          finalizeQuietly();
          generation++;
        }
      }
    } finally {
      exclusive.unlock();
    }
  }

  /** How often the library was initialized again; sessions opened in an older generation are gone. */
  long generation() {
    return generation;
  }

  /**
   * C_Finalize then C_Initialize, unless someone already did since {@code seen}; returns the generation now current.
   * Every session of every token of this library is gone afterwards.
   */
  long reinitialize(long seen) {
    Lock exclusive = calls.writeLock();
    exclusive.lock();
    try {
      synchronized (LOCK) {
        if (generation != seen || leases == 0) {
          return generation;
        }
        finalizeQuietly();
        generation++;
        try {
          module.initialize();
        } catch (PKCS11Exception e) {
          if (e.getErrorCode() != PKCS11Constants.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
            throw Pkcs11Failures.unavailable("initializing PKCS#11 library '" + path + "' again", e);
          }
        }
        LOG.info("PKCS#11 library {} initialized again (generation {})", path, generation);
        return generation;
      }
    } finally {
      exclusive.unlock();
    }
  }

  /** The shared side is held by every PKCS#11 call; {@link #reinitialize} takes the exclusive side. */
  Lock calls() {
    return calls.readLock();
  }

  /**
   * The token with this label, or null; the labels of the other slots go to {@code others} (for the message), a slot
   * whose token cannot describe itself as its CKR_ code.
   */
  Token findToken(String label, List<String> others) {
    Slot[] slots;
    try {
      slots = module.getSlotList(true);
    } catch (PKCS11Exception e) {
      throw Pkcs11Failures.unavailable("listing the slots of '" + path + "'", e);
    }
    for (Slot slot : slots) {
      Token token = slot.getToken();
      String found;
      try {
        found = token.getTokenInfo().getLabel().trim();
      } catch (PKCS11Exception e) {
        // A slot whose token cannot describe itself is not the one we want; say so only if nothing matches.
        others.add("<slot " + slot.getSlotID() + ": " + Pkcs11Failures.name(e) + ">");
        continue;
      }
      if (found.equals(label)) {
        return token;
      }
      if (!found.isEmpty()) { // SoftHSM2 always offers one free, uninitialized slot
        others.add("'" + found + "'");
      }
    }
    return null;
  }

  private void finalizeQuietly() {
    try {
      module.finalize(null);
    } catch (PKCS11Exception e) {
      // Nothing to recover: the next initialize is tried anyway, and CKR_CRYPTOKI_ALREADY_INITIALIZED is accepted.
      LOG.warn("C_Finalize of {} failed: {}", path, Pkcs11Failures.name(e));
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
