package dev.keywarden.storage;

import java.util.List;
import java.util.Optional;

/** Reads and writes of {@link Storage}, the same inside and outside a transaction. */
public interface StorageOps {

  /** The entry at {@code key}, if any. */
  Optional<StoredEntry> get(String key);

  /** Writes {@code value} at {@code key}, creating or replacing it; the version goes up by one. */
  void put(String key, byte[] value);

  /**
   * Writes only if the entry's version is {@code expectedVersion} (0: only if absent). Returns false and writes nothing
   * otherwise.
   */
  boolean compareAndSet(String key, long expectedVersion, byte[] value);

  /** Keys that start with {@code prefix}, sorted. */
  List<String> list(String prefix);

  /** Deletes {@code key}; returns whether it existed. */
  boolean delete(String key);
}
