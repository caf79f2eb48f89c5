package dev.keywarden.storage;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The engines' one cache of what they read from storage (roles, CA records, keys), so the hot path reads no storage:
 * a miss reads through, and every change the engine makes forgets the entries it touched. A read that raced a change
 * (it began before the change and ended after) is returned but not kept, so a stale record is never cached. Engines
 * declare beside each cache which storage prefix it mirrors and forget on every write under it; when several servers
 * share one store, the change feed will forget here too.
 */
public final class ReadThroughCache<K, V> {
  private final Map<K, V> entries = new ConcurrentHashMap<>();
  /** Bumped by every forget; guarded by {@code this}. */
  private long changes;

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
    synchronized (this) {
      if (seen == changes && read != null) {
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
