package dev.keywarden.server.gate;

import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageListener;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StorageWatch;
import dev.keywarden.storage.testing.ForwardingStorage;
import dev.keywarden.storage.testing.ForwardingStorageOps;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** A Storage that remembers every key written (put, compare-and-set, delete) and every prefix watched. */
final class RecordingStorage extends ForwardingStorage {
  final Set<String> written = ConcurrentHashMap.newKeySet();
  final Set<String> watched = ConcurrentHashMap.newKeySet();

  RecordingStorage(Storage real) {
    super(real);
  }

  private StorageOps recording(StorageOps ops) {
    return new ForwardingStorageOps(ops) {
      @Override
      public void put(String key, byte[] value) {
        super.put(key, value);
        written.add(key);
      }

      @Override
      public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
        boolean done = super.compareAndSet(key, expectedVersion, value);
        if (done) {
          written.add(key);
        }
        return done;
      }

      @Override
      public boolean delete(String key) {
        boolean done = super.delete(key);
        if (done) {
          written.add(key);
        }
        return done;
      }
    };
  }

  @Override
  public void put(String key, byte[] value) {
    recording(delegate).put(key, value);
  }

  @Override
  public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    return recording(delegate).compareAndSet(key, expectedVersion, value);
  }

  @Override
  public boolean delete(String key) {
    return recording(delegate).delete(key);
  }

  @Override
  public <T> T atomically(Function<StorageOps, T> work) {
    return super.atomically(ops -> work.apply(recording(ops)));
  }

  @Override
  public StorageWatch watch(String prefix, StorageListener listener) {
    watched.add(prefix);
    return super.watch(prefix, listener);
  }
}
