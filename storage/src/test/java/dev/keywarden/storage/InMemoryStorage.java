package dev.keywarden.storage;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/** The reference model of {@link Storage} for tests: a sorted map with versions. Not for production use. */
final class InMemoryStorage implements Storage {

  private record Versioned(byte[] value, long version) {}

  private TreeMap<String, Versioned> entries = new TreeMap<>();
  private final ChangeFeed feed = new ChangeFeed();

  @Override
  public synchronized Optional<StoredEntry> get(String key) {
    return ops(entries).get(key);
  }

  @Override
  public synchronized void put(String key, byte[] value) {
    ops(entries).put(key, value);
    feed.changed(key);
  }

  @Override
  public synchronized boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    return announced(key, ops(entries).compareAndSet(key, expectedVersion, value));
  }

  private boolean announced(String key, boolean changed) {
    if (changed) {
      feed.changed(key);
    }
    return changed;
  }

  @Override
  public synchronized List<String> list(String prefix) {
    return ops(entries).list(prefix);
  }

  @Override
  public synchronized boolean delete(String key) {
    return announced(key, ops(entries).delete(key));
  }

  @Override
  public synchronized <T> T atomically(Function<StorageOps, T> work) {
    // work on a copy and swap it in on return: an exception leaves the original untouched
    TreeMap<String, Versioned> copy = new TreeMap<>(entries);
    T result = work.apply(ops(copy));
    TreeMap<String, Versioned> before = entries;
    entries = copy;
    // the model announces every key whose entry differs after the transaction (not each write inside it)
    java.util.TreeSet<String> keys = new java.util.TreeSet<>(before.keySet());
    keys.addAll(copy.keySet());
    for (String key : keys) {
      if (before.get(key) != copy.get(key)) {
        feed.changed(key);
      }
    }
    return result;
  }

  @Override
  public StorageWatch watch(String prefix, StorageListener listener) {
    return feed.watch(prefix, listener);
  }

  @Override
  public String kind() {
    return "memory";
  }

  @Override
  public void close() {}

  private static StorageOps ops(TreeMap<String, Versioned> map) {
    return new StorageOps() {
      @Override
      public Optional<StoredEntry> get(String key) {
        Versioned v = map.get(Objects.requireNonNull(key));
        return v == null ? Optional.empty() : Optional.of(new StoredEntry(key, v.value().clone(), v.version()));
      }

      @Override
      public void put(String key, byte[] value) {
        Versioned old = map.get(key);
        map.put(key, new Versioned(value.clone(), old == null ? 1 : old.version() + 1));
      }

      @Override
      public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
        Versioned old = map.get(key);
        long actual = old == null ? 0 : old.version();
        if (actual != expectedVersion) {
          return false;
        }
        put(key, value);
        return true;
      }

      @Override
      public List<String> list(String prefix) {
        List<String> keys = new ArrayList<>();
        for (Map.Entry<String, Versioned> e : map.tailMap(prefix, true).entrySet()) {
          if (!e.getKey().startsWith(prefix)) {
            break;
          }
          keys.add(e.getKey());
        }
        return keys;
      }

      @Override
      public boolean delete(String key) {
        return map.remove(key) != null;
      }
    };
  }
}
