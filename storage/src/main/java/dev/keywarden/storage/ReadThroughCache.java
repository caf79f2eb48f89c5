package dev.keywarden.storage;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The engines' one cache of what they read from storage (roles, CA records, keys), so the hot path reads no storage:
 * a miss reads through, and every change the engine makes forgets the entries it touched. A read that raced a change
 * (it began before the change and ended after) is returned but not kept, so a stale record is never cached. Engines
 * declare beside each cache which storage prefix it mirrors and forget on every write under it; with
 * {@link #watching}, the change feed forgets here too, so a change made on another server sharing the store is seen.
 */
public final class ReadThroughCache<K, V> {
  private final Map<K, V> entries = new ConcurrentHashMap<>();
  /** Bumped by every forget; guarded by {@code this}. */
  private long changes;
  private final java.util.List<StorageWatch> watches = new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * Also forgets on every committed change under {@code prefix} in {@code storage}, by this node or another sharing
   * the store (its change feed): {@code keyOf} maps the stored key's rest after the prefix to the entry it mirrors
   * (null: forget everything); a feed reset forgets everything, and nothing read is kept while the feed is not live.
   * Returns this cache. Call when the engine that owns the cache is made, once for each prefix its entries mirror.
   */
  public ReadThroughCache<K, V> watching(Storage storage, String prefix, Function<String, K> keyOf) {
    watches.add(storage.watch(prefix, new StorageListener() {
      @Override
      public void changed(String key) {
        K k = key.startsWith(prefix) ? keyOf.apply(key.substring(prefix.length())) : null;
        if (k == null) {
          forgetAll();
        } else {
          forget(k);
        }
      }

      @Override
      public void reset() {
        forgetAll();
      }
    }));
    return this;
  }

  /** Stops watching (the engine is closed). */
  public void stopWatching() {
    watches.forEach(StorageWatch::close);
    watches.clear();
  }

  /** The cached value, or {@code load}'s (kept unless a change raced it); {@code load} may throw, nothing is kept then. */
  public V get(K key, Function<? super K, ? extends V> load) {
    V cached = entries.get(key);
    if (cached != null) {
      return cached;
    }
    long seen;
    synchronized (this) {
      seen = changes;
    }
    V read = load.apply(key);
    boolean live = watches.stream().allMatch(StorageWatch::live);
    synchronized (this) {
      if (seen == changes && read != null && live) {
        entries.put(key, read);
      }
    }
    return read;
  }

  /** Forgets one entry, after a change to what it mirrors. */
  public void forget(K key) {
    synchronized (this) {
      changes++;
      entries.remove(key);
    }
  }

  /** Forgets everything (a change that touches many entries, or the core sealing). */
  public void forgetAll() {
    synchronized (this) {
      changes++;
      entries.clear();
    }
  }
}
