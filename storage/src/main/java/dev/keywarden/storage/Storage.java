package dev.keywarden.storage;

import java.util.function.Function;

/**
 * The service's only persistent state: a key/value store with versions, compare-and-set and atomic multi-key updates.
 * Values written here are either public or already wrapped by the KEK. {@link SqliteStorage} (one file, one node) and
 * {@link PostgresStorage} implement it and pass the same contract tests. Implementations are safe for concurrent use.
 */
public interface Storage extends StorageOps, AutoCloseable {

  /**
   * Runs {@code work} in one transaction: everything it writes lands together or not at all, and it sees no other
   * write half-done. Throwing from {@code work} rolls back. Do not call the outer Storage from inside {@code work}.
   * {@code work} may run more than once (PostgreSQL runs it again when a concurrent transaction made it fail to
   * serialize), so it must have no effect other than through the ops it is given and its return value.
   */
  <T> T atomically(Function<StorageOps, T> work);

  /**
   * Tells {@code listener} about every committed write (put, successful compare-and-set, delete of an existing key,
   * and each of these inside a committed {@link #atomically}) to a key starting with {@code prefix}, by this node or by
   * another sharing the store. Only keys travel, never values; nothing is delivered for a rolled-back transaction.
   * When changes may have been missed, {@link StorageListener#reset()} comes instead. Deliveries run on one thread per
   * Storage, in commit order.
   */
  StorageWatch watch(String prefix, StorageListener listener);

  /**
   * The lease named {@code name} on work that must run on one node at a time (see {@link WorkLease}); the caller
   * closes it. {@link WorkLease#SOLE} for a store only one node uses.
   */
  default WorkLease lease(String name) {
    return WorkLease.SOLE;
  }

  /** "sqlite" or "postgresql", for status output. */
  String kind();

  @Override
  void close();
}
