package dev.keywarden.storage;

import dev.keywarden.failure.KeywardenException;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The one compare-and-set retry loop: read a record, compute its successor, {@link Storage#compareAndSet} it, and on a
 * lost race start again from a fresh read. Engines use it for every read-modify-write of a shared record (a keyring,
 * an issuer's or CA key's issued-until mark), so a change racing another never overwrites it.
 */
public final class CasRetry {
  /** Attempts before giving up: only a record changed this often by others loses every one. */
  public static final int ATTEMPTS = 100;

  private CasRetry() {}

  /**
   * Runs {@code attempt} until it returns a value (it landed, or nothing needed changing); it returns empty when its
   * compare-and-set lost. After {@link #ATTEMPTS} lost races, UNAVAILABLE saying that {@code what} changes too often.
   */
  public static <T> T untilStored(String what, Supplier<Optional<T>> attempt) {
    for (int i = 0; i < ATTEMPTS; i++) {
      Optional<T> done = attempt.get();
      if (done.isPresent()) {
        return done.get();
      }
    }
    throw KeywardenException.unavailable(what + " is changing too often; try again", null);
  }
}
