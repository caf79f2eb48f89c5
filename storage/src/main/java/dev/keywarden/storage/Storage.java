package dev.keywarden.storage;

import java.util.function.Function;

/**
 * The service's only persistent state: a key/value store with versions, compare-and-set and atomic multi-key updates.
 * Values written here are either public or already wrapped by the KEK. SQLite now, PostgreSQL later behind the same
 * interface. Implementations are safe for concurrent use.
 */
public interface Storage extends StorageOps, AutoCloseable {

  /**
   * Runs {@code work} in one transaction: everything it writes lands together or not at all. Throwing from
   * {@code work} rolls back. Do not call the outer Storage from inside {@code work}.
   */
  <T> T atomically(Function<StorageOps, T> work);

  /** "sqlite" or "postgresql", for status output. */
  String kind();

  @Override
  void close();
}
