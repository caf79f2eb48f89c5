package dev.keywarden.storage;

import dev.keywarden.failure.KeywardenException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * What a feed-following cache last read from storage, kept beside it to serve only while storage cannot be read:
 * when PostgreSQL is down (or this node is cut off from it) the change feed resets and the cache forgets everything,
 * yet a token or policy read a moment ago is still the best answer there is, and nobody can change it in a store
 * nobody reaches. So {@link #read} tries storage, and on UNAVAILABLE answers with the last value read, if any; after
 * such a failure it waits {@link #RETRY_NANOS} before trying storage again, so each call does not wait for a
 * connection timeout. A committed change heard on the feed {@link #forget}s the entry, and sealing {@link #clear}s
 * everything, so a revoked token or deleted policy is never served from here once its change was heard. Values are
 * what the cache holds (never secrets unwrapped).
 */
public final class LastKnown<K, V> {
  /** How long after storage failed a call is answered from here without trying storage. */
  static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final int limit;
  private final ConcurrentHashMap<K, V> values = new ConcurrentHashMap<>();
  private volatile long retryAt = System.nanoTime();
  private volatile boolean failing;
  /** Bumped by every forget, so a read that raced a change is not remembered. */
  private final java.util.concurrent.atomic.AtomicLong changes = new java.util.concurrent.atomic.AtomicLong();

  /** Keeps at most about {@code limit} entries (all are dropped when it is passed). */
  public LastKnown(int limit) {
    this.limit = limit;
  }

  /**
   * {@code load}'s answer for {@code key} (null: none), remembered; when it fails UNAVAILABLE, the last value read
   * for {@code key} if there is one, else the failure.
   */
  public V read(K key, Function<K, V> load) {
    V known = values.get(key);
    if (known != null && failing && System.nanoTime() - retryAt < 0) {
      return known;
    }
    long seen = changes.get();
    V value;
    try {
      value = load.apply(key);
    } catch (KeywardenException e) {
      if (e.kind() != KeywardenException.Kind.UNAVAILABLE) {
        throw e;
      }
      retryAt = System.nanoTime() + RETRY_NANOS;
      failing = true;
      V again = values.get(key); // a change heard meanwhile forgot it
      if (again == null) {
        throw e;
      }
      return again;
    }
    if (failing) { // read before written: no shared write per call while storage answers
      failing = false;
    }
    if (value == null) {
      values.remove(key);
    } else if (values.get(key) != value && changes.get() == seen) { // a cache hit puts nothing
      remember(key, value);
    }
    return value;
  }

  /** Records {@code value} (null: forgets) as what storage holds for {@code key}, after this node wrote it. */
  public void remember(K key, V value) {
    if (value == null) {
      values.remove(key);
      return;
    }
    if (values.size() >= limit) {
      values.clear();
    }
    values.put(key, value);
  }

  /** Forgets {@code key}: it changed. */
  public void forget(K key) {
    changes.incrementAndGet();
    values.remove(key);
  }

  /** Forgets everything (sealing). */
  public void clear() {
    changes.incrementAndGet();
    values.clear();
  }
}
