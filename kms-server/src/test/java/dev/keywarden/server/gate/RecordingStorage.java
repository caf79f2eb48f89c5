package dev.keywarden.server.gate;

import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageListener;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StorageWatch;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.WorkLease;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** A Storage that remembers every key written (put, compare-and-set, delete) and every prefix watched. */
final class RecordingStorage implements Storage {
  private final Storage real;
  final Set<String> written = ConcurrentHashMap.newKeySet();
  final Set<String> watched = ConcurrentHashMap.newKeySet();

  RecordingStorage(Storage real) {
    this.real = real;
  }

  private StorageOps recording(StorageOps ops) {
    return new StorageOps() {
      @Override
      public Optional<StoredEntry> get(String key) {
        return ops.get(key);
      }

      @Override
      public void put(String key, byte[] value) {
        ops.put(key, value);
        written.add(key);
      }

      @Override
      public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
        boolean done = ops.compareAndSet(key, expectedVersion, value);
        if (done) {
          written.add(key);
        }
        return done;
      }

      @Override
      public List<String> list(String prefix) {
        return ops.list(prefix);
      }

      @Override
      public boolean delete(String key) {
        boolean done = ops.delete(key);
        if (done) {
          written.add(key);
        }
        return done;
      }
    };
  }

  @Override
  public Optional<StoredEntry> get(String key) {
    return real.get(key);
  }

  @Override
  public void put(String key, byte[] value) {
    recording(real).put(key, value);
  }

  @Override
  public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    return recording(real).compareAndSet(key, expectedVersion, value);
  }

  @Override
  public List<String> list(String prefix) {
    return real.list(prefix);
  }

  @Override
  public boolean delete(String key) {
    return recording(real).delete(key);
  }

  @Override
  public <T> T atomically(Function<StorageOps, T> work) {
    return real.atomically(ops -> work.apply(recording(ops)));
  }

  @Override
  public StorageWatch watch(String prefix, StorageListener listener) {
    watched.add(prefix);
    return real.watch(prefix, listener);
  }

  @Override
  public WorkLease lease(String name) {
    return real.lease(name);
  }

  @Override
  public String kind() {
    return real.kind();
  }

  @Override
  public void close() {
    real.close();
  }
}
