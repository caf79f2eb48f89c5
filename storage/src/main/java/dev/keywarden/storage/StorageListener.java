package dev.keywarden.storage;

/**
 * Told about committed changes under the prefix it watches (see {@link Storage#watch}). Called on the storage's
 * delivery thread (SQLite: the committing thread, holding the write lock): it must be quick (forget a cache entry)
 * and must not write to the Storage it watches.
 */
public interface StorageListener {

  /** {@code key} was written or deleted by a committed write (of this node or another sharing the store). */
  void changed(String key);

  /**
   * Changes may have been missed (the feed's connection was lost, or a change could only be announced by a prefix):
   * forget everything cached under the watched prefix.
   */
  void reset();
}
