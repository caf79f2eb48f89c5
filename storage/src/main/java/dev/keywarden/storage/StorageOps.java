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

  /**
   * One page of {@link #list}: at most {@code limit} keys under {@code prefix} that come after {@code after}
   * (exclusive; "" from the start), in code point order, so that a long listing is read in bounded pieces (pass the
   * last key of a page as the next page's {@code after}). The stores answer it with one indexed range query.
   */
  default List<String> list(String prefix, String after, int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1");
    }
    return list(prefix).stream().filter(k -> after.isEmpty() || k.compareTo(after) > 0).limit(limit).toList();
  }

  /**
   * {@link #list(String, String, int)} with the values: one page of entries, in the same order. The stores answer it
   * with one range query, so reading many records under a prefix (a CRL's revocations) costs one query per page
   * instead of one per record.
   */
  default List<StoredEntry> entries(String prefix, String after, int limit) {
    java.util.List<StoredEntry> out = new java.util.ArrayList<>();
    for (String key : list(prefix, after, limit)) {
      get(key).ifPresent(out::add);
    }
    return java.util.List.copyOf(out);
  }
}
