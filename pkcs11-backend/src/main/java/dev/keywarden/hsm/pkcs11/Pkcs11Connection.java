package dev.keywarden.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_CRYPTOKI_NOT_INITIALIZED;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_DEVICE_ERROR;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_DEVICE_REMOVED;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_GENERAL_ERROR;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_KEY_HANDLE_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_OBJECT_HANDLE_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_OPERATION_NOT_INITIALIZED;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_PIN_EXPIRED;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_PIN_INCORRECT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_PIN_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_PIN_LEN_RANGE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_PIN_LOCKED;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_SESSION_CLOSED;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_SESSION_HANDLE_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_SLOT_ID_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_TOKEN_NOT_PRESENT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_TOKEN_NOT_RECOGNIZED;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_UNWRAPPING_KEY_HANDLE_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_USER_NOT_LOGGED_IN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_WRAPPING_KEY_HANDLE_INVALID;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmHealth;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.Token;
import org.xipki.pkcs11.wrapper.TokenException;

/**
 * The logged-in sessions of one token, and the one place where every PKCS#11 call of {@link Pkcs11Hsm} runs. When the
 * token goes away and comes back (a network HSM restarting), the sessions are closed, opened again and logged in with
 * the PIN held while unsealed, and the call is tried once more; no seal and unseal is needed.
 *
 * <p>What SoftHSM2 2.6.1 does when its token directory is moved away and back (measured, see README "HSM recovery"):
 * while away, C_GetTokenInfo fails with CKR_GENERAL_ERROR, sessions stay open and logged in, C_FindObjects finds
 * nothing without an error, C_EncryptInit with a known handle fails with CKR_OBJECT_HANDLE_INVALID (which the wrapper
 * hides and reports as CKR_OPERATION_NOT_INITIALIZED from C_Encrypt), C_GenerateKey fails with CKR_GENERAL_ERROR, and
 * C_OpenSession and C_Login still succeed. Once back, nothing changes for this process, new sessions included: the
 * token stays marked invalid until C_Finalize and C_Initialize, after which it is in the same slot and its keys are
 * found again by label and id. So a reconnect initializes the library again when the token cannot describe itself,
 * and otherwise only opens new sessions.
 *
 * <p>Failures are sorted: a session, device or login code means reconnect; a handle code means the handles are stale
 * (found again by label and id, see {@link KeyHandle}) when the token still describes itself, and reconnect when it
 * does not, because an absent SoftHSM2 token answers with handle codes and empty searches. Everything else is the
 * caller's. While the token cannot be reached calls fail at once with UNAVAILABLE; a reconnect is tried at most once
 * per backoff (250 ms, doubling to 2 s), by a caller that finds it due or by a watcher thread, so health comes back
 * without traffic.
 */
final class Pkcs11Connection implements AutoCloseable {

  static final Duration FIRST_BACKOFF = Duration.ofMillis(250);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(2);

  private static final Logger LOG = LoggerFactory.getLogger(Pkcs11Connection.class);
  private static final long[] CONNECTION_CODES = {CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_DEVICE_REMOVED,
      CKR_DEVICE_ERROR, CKR_TOKEN_NOT_PRESENT, CKR_TOKEN_NOT_RECOGNIZED, CKR_SLOT_ID_INVALID, CKR_USER_NOT_LOGGED_IN,
      CKR_CRYPTOKI_NOT_INITIALIZED, CKR_GENERAL_ERROR};
  private static final long[] HANDLE_CODES = {CKR_OBJECT_HANDLE_INVALID, CKR_KEY_HANDLE_INVALID,
      CKR_WRAPPING_KEY_HANDLE_INVALID, CKR_UNWRAPPING_KEY_HANDLE_INVALID, CKR_OPERATION_NOT_INITIALIZED};
  private static final long[] PIN_CODES = {CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE, CKR_PIN_EXPIRED,
      CKR_PIN_LOCKED};

  /** One PKCS#11 operation on the pool; it may run twice, so it must be idempotent. */
  @FunctionalInterface
  interface TokenCall<T> {
    /** Runs on {@code token}; {@code generation} tells {@link KeyHandle} whether its cached handle is still valid. */
    T run(PKCS11Token token, long generation) throws TokenException;
  }

  /** Why the token cannot be reached, since when, and when the next reconnect may be tried. */
  private record Outage(String reason, Instant since, long nextAttemptNanos, long backoffMillis, boolean final_) {}

  private enum Trouble { CONNECTION, STALE_HANDLE, OTHER }

  private final Pkcs11Library library;
  private final String tokenLabel;
  private final char[] pin;
  private final int sessions;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final AtomicLong generation = new AtomicLong();
  private final AtomicLong reconnects = new AtomicLong();
  private final AtomicLong attempts = new AtomicLong();
  private final ScheduledExecutorService watcher;
  // guarded by lock: read side to use, write side to change
  private PKCS11Token token;
  private long libraryGeneration;
  private boolean closed;
  private volatile Outage outage;

  /** Takes over {@code token}, logged in, and {@code pin}, which it zeroizes on close. */
  Pkcs11Connection(Pkcs11Library library, String tokenLabel, PKCS11Token token, long libraryGeneration, char[] pin,
      int sessions) {
    this.library = library;
    this.tokenLabel = tokenLabel;
    this.token = token;
    this.libraryGeneration = libraryGeneration;
    this.pin = pin;
    this.sessions = sessions;
    this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "keywarden-hsm-reconnect");
      t.setDaemon(true);
      return t;
    });
    long period = FIRST_BACKOFF.toMillis();
    watcher.scheduleWithFixedDelay(this::watch, period, period, TimeUnit.MILLISECONDS);
  }

  /**
   * Runs {@code call}; on a failure that means the token went away, reconnects and runs it once more. Fails with
   * UNAVAILABLE "the HSM is unreachable" when that does not help, FAILED_PRECONDITION once closed, and throws every
   * other PKCS#11 failure of the call unchanged.
   */
  <T> T run(String doing, TokenCall<T> call) throws TokenException {
    reconnectIfDue();
    for (int attempt = 1; ; attempt++) {
      long seen;
      String failure;
      boolean staleHandles = false;
      Lock read = lock.readLock();
      read.lock();
      try {
        requireOpen();
        Outage down = outage;
        if (down != null) {
          throw unreachable(down);
        }
        seen = generation.get();
        Lock calls = library.calls();
        calls.lock();
        try {
          if (library.generation() != libraryGeneration) {
            failure = "the PKCS#11 library was initialized again, which closed every session";
          } else {
            try {
              return call.run(token, seen);
            } catch (TokenException e) {
              Trouble trouble = sort(e, token);
              if (trouble == Trouble.OTHER || (trouble == Trouble.STALE_HANDLE && attempt > 1)) {
                throw e;
              }
              staleHandles = trouble == Trouble.STALE_HANDLE;
              failure = doing + " failed: " + Pkcs11Failures.describe(e);
            }
          }
        } finally {
          calls.unlock();
        }
      } finally {
        read.unlock();
      }
      if (staleHandles) {
        // The token answers, so only handles are stale: every KeyHandle finds its object again on the retry.
        generation.compareAndSet(seen, seen + 1);
        continue;
      }
      recover(seen, failure);
      Outage down = outage;
      if (down != null) {
        throw unreachable(down);
      }
      if (attempt > 1) {
        throw KeywardenException.unavailable("the HSM is unreachable: " + failure + "; retrying", null);
      }
    }
  }

  /** Reachable or not, as the last calls and reconnects found; never calls the token. */
  HsmHealth health() {
    Outage down = outage;
    return down == null ? HsmHealth.REACHABLE : HsmHealth.unreachable(message(down), down.since());
  }

  /** How many times the sessions were opened again; for tests that must show a failure was not papered over. */
  long reconnects() {
    return reconnects.get();
  }

  /** How many reconnects were tried, successful or not; for tests of the backoff. */
  long reconnectAttempts() {
    return attempts.get();
  }

  /** Holds the connection open for direct use of {@link #token()} (tests); FAILED_PRECONDITION once closed. */
  Pkcs11Hsm.Use use() {
    Lock read = lock.readLock();
    read.lock();
    try {
      requireOpen();
    } catch (RuntimeException e) {
      read.unlock();
      throw e;
    }
    Lock calls = library.calls();
    calls.lock();
    return () -> {
      calls.unlock();
      read.unlock();
    };
  }

  /** The current session pool; only valid inside {@link #use()} or a {@link TokenCall}. */
  PKCS11Token token() {
    return token;
  }

  /** Throws the token's CKR_ code when the token cannot describe itself (C_GetTokenInfo): it is not reachable. */
  static void requireReachable(PKCS11Token token) throws PKCS11Exception {
    token.getToken().getTokenInfo();
  }

  /** Logs out, closes every session, stops the watcher and zeroizes the PIN. Idempotent. */
  @Override
  public void close() {
    Lock write = lock.writeLock();
    write.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      watcher.shutdownNow();
      Lock calls = library.calls();
      calls.lock();
      try {
        if (library.generation() == libraryGeneration && outage == null) {
          try {
            token.logout();
          } catch (TokenException | RuntimeException e) {
            LOG.warn("logout from token '{}' failed: {}", tokenLabel, Pkcs11Failures.describe(e));
          }
          token.closeAllSessions();
        }
      } finally {
        calls.unlock();
      }
      Arrays.fill(pin, '\0');
    } finally {
      write.unlock();
    }
  }

  private void requireOpen() {
    if (closed) {
      throw KeywardenException.precondition("the HSM session to token '" + tokenLabel
          + "' is closed: the service is sealed");
    }
  }

  private static Trouble sort(TokenException e, PKCS11Token token) {
    PKCS11Exception p = Pkcs11Failures.returnCode(e);
    if (p == null) {
      return Trouble.OTHER; // the wrapper's own failures, e.g. no idle session within its wait
    }
    long code = p.getErrorCode();
    if (contains(CONNECTION_CODES, code)) {
      return Trouble.CONNECTION;
    }
    if (contains(HANDLE_CODES, code)) {
      try {
        requireReachable(token);
        return Trouble.STALE_HANDLE;
      } catch (PKCS11Exception unreachable) {
        return Trouble.CONNECTION;
      }
    }
    return Trouble.OTHER;
  }

  private void watch() {
    try {
      reconnectIfDue();
    } catch (RuntimeException e) {
      LOG.warn("reconnect to token '{}' failed: {}", tokenLabel, e.getClass().getName());
    }
  }

  private void reconnectIfDue() {
    Outage down = outage;
    if (down != null && !down.final_() && System.nanoTime() - down.nextAttemptNanos() >= 0) {
      recover(generation.get(), down.reason());
    }
  }

  /** Reconnects unless someone did since {@code seen}, the connection is closed, or the backoff has not passed. */
  private void recover(long seen, String failure) {
    Lock write = lock.writeLock();
    write.lock();
    try {
      Outage down = outage;
      if (closed || generation.get() != seen
          || (down != null && (down.final_() || System.nanoTime() - down.nextAttemptNanos() < 0))) {
        return;
      }
      reopen(down, failure);
    } finally {
      write.unlock();
    }
  }

  /** Under the write lock: new sessions, logged in, in a library initialized again when the token needs it. */
  private void reopen(Outage down, String failure) {
    long started = System.nanoTime();
    attempts.incrementAndGet();
    if (down == null) {
      LOG.warn("HSM token '{}' failed ({}); reconnecting", tokenLabel, failure);
    }
    try {
      boolean reachable;
      Lock calls = library.calls();
      calls.lock();
      try {
        reachable = library.generation() == libraryGeneration && describesItself(token.getToken());
        if (library.generation() == libraryGeneration) {
          // After another reinitialize these handles may name someone else's new sessions: leave them alone.
          token.closeAllSessions();
        }
      } finally {
        calls.unlock();
      }
      if (!reachable) {
        library.reinitialize(libraryGeneration);
      }
      calls.lock();
      try {
        libraryGeneration = library.generation();
        Token found = library.findToken(tokenLabel, new ArrayList<>());
        if (found == null) {
          throw KeywardenException.unavailable("token '" + tokenLabel + "' is not present", null);
        }
        PKCS11Token fresh = new PKCS11Token(found, false, pin, sessions);
        requireReachable(fresh);
        token = fresh;
      } finally {
        calls.unlock();
      }
      generation.incrementAndGet();
      reconnects.incrementAndGet();
      outage = null;
      LOG.info("HSM token '{}' reconnected{}", tokenLabel, down == null ? ""
          : " after " + Duration.between(down.since(), Instant.now()).toMillis() + " ms unreachable");
    } catch (TokenException e) {
      String reason = "reconnecting to token '" + tokenLabel + "' failed: " + Pkcs11Failures.describe(e);
      if (Pkcs11Failures.hasCode(e, PIN_CODES)) {
        // Trying a refused PIN again and again would lock it on a real HSM: stop, an operator has to look.
        outage = new Outage("the HSM refused the PIN on reconnect (" + Pkcs11Failures.describe(e)
            + "); seal and unseal with the right PIN", since(down), Long.MAX_VALUE, 0, true);
        LOG.error("HSM token '{}': {}", tokenLabel, outage.reason());
        return;
      }
      outage = next(down, reason);
    } catch (KeywardenException e) {
      outage = next(down, e.getMessage());
    } finally {
      LOG.debug("reconnect attempt to token '{}' took {} ms", tokenLabel,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    }
  }

  private Outage next(Outage down, String reason) {
    long backoff = down == null ? FIRST_BACKOFF.toMillis() : Math.min(down.backoffMillis() * 2, MAX_BACKOFF.toMillis());
    if (down == null) {
      LOG.warn("HSM token '{}' is unreachable: {}; trying again every {} to {} ms", tokenLabel, reason,
          FIRST_BACKOFF.toMillis(), MAX_BACKOFF.toMillis());
    }
    return new Outage(reason, since(down), System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff), backoff,
        false);
  }

  private static Instant since(Outage down) {
    return down == null ? Instant.now() : down.since();
  }

  private static boolean describesItself(Token token) {
    try {
      token.getTokenInfo();
      return true;
    } catch (PKCS11Exception e) {
      return false;
    }
  }

  private static String message(Outage down) {
    return down.final_() ? down.reason() : down.reason() + "; retrying";
  }

  private static KeywardenException unreachable(Outage down) {
    return KeywardenException.unavailable("the HSM is unreachable: " + message(down), null);
  }

  private static boolean contains(long[] codes, long code) {
    for (long c : codes) {
      if (c == code) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "Pkcs11Connection[" + tokenLabel + (outage == null ? "" : ", unreachable") + "]";
  }
}
