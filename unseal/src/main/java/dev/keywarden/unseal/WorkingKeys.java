package dev.keywarden.unseal;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StoredEntry;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Keys the service keeps outside the HSM, stored wrapped by the KEK and unwrapped on first use into a bounded
 * in-memory cache. A key in use is zeroized only once its last user is done; every key is zeroized on seal.
 */
public final class WorkingKeys {
  private final StorageOps storage;
  private final KeyEncryptionKey kek;
  private final int capacity;
  private final Map<String, Entry> cache;
  private boolean destroyed;

  WorkingKeys(StorageOps storage, KeyEncryptionKey kek, int capacity) {
    this.storage = storage;
    this.kek = kek;
    this.capacity = capacity;
    this.cache = new LinkedHashMap<>(16, 0.75f, true);
  }

  /** Wraps new key material with the KEK for storing; the caller still zeroizes {@code material}. */
  public byte[] wrap(byte[] material) {
    return kek.wrap(material);
  }

  /**
   * Runs {@code work} with the unwrapped key stored at {@code storageKey}. The array is valid only during the call:
   * do not keep it. NOT_FOUND when nothing is stored there.
   */
  public <T> T withKey(String storageKey, Function<byte[], T> work) {
    Entry entry = acquire(storageKey);
    try {
      return work.apply(entry.material);
    } finally {
      release(entry);
    }
  }

  private Entry acquire(String storageKey) {
    synchronized (cache) {
      checkOpen();
      Entry cached = cache.get(storageKey);
      if (cached != null) {
        cached.users++;
        return cached;
      }
    }
    // Unwrap outside the lock: it is an HSM call.
    StoredEntry stored = storage.get(storageKey)
        .orElseThrow(() -> KeywardenException.notFound("no key stored at " + storageKey));
    byte[] material = kek.unwrap(stored.value());
    synchronized (cache) {
      if (destroyed) {
        Arrays.fill(material, (byte) 0);
        checkOpen();
      }
      Entry raced = cache.get(storageKey);
      if (raced != null) {
        Arrays.fill(material, (byte) 0);
        raced.users++;
        return raced;
      }
      Entry entry = new Entry(material);
      entry.users = 1;
      cache.put(storageKey, entry);
      evictBeyondCapacity();
      return entry;
    }
  }

  private void release(Entry entry) {
    synchronized (cache) {
      entry.users--;
      if (entry.retired && entry.users == 0) {
        entry.zeroize();
      }
    }
  }

  /** Forgets a cached key (after it changed in storage); zeroized once unused. */
  public void invalidate(String storageKey) {
    synchronized (cache) {
      Entry entry = cache.remove(storageKey);
      if (entry != null) {
        retire(entry);
      }
    }
  }

  /** How many keys are cached now. */
  public int size() {
    synchronized (cache) {
      return cache.size();
    }
  }

  void destroyAll() {
    synchronized (cache) {
      destroyed = true;
      cache.values().forEach(this::retire);
      cache.clear();
    }
  }

  private void evictBeyondCapacity() {
    var it = cache.values().iterator();
    while (cache.size() > capacity && it.hasNext()) {
      Entry eldest = it.next();
      it.remove();
      retire(eldest);
    }
  }

  private void retire(Entry entry) {
    entry.retired = true;
    if (entry.users == 0) {
      entry.zeroize();
    }
  }

  private void checkOpen() {
    if (destroyed) {
      throw Core.sealedError();
    }
  }

  private static final class Entry {
    final byte[] material;
    int users;
    boolean retired;

    Entry(byte[] material) {
      this.material = material;
    }

    void zeroize() {
      Arrays.fill(material, (byte) 0);
    }
  }
}
