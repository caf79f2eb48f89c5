package dev.keywarden.storage.testing;

import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageListener;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StorageWatch;
import dev.keywarden.storage.StoredEntry;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/** Storage that records every key read and prefix listed, and how many writes each transaction made. */
public final class ReadRecordingStorage implements Storage {
  private final Storage real;
  /** Every key read, in order. */
  public final List<String> reads = new CopyOnWriteArrayList<>();
  /** How many writes each committed transaction made. */
  public final List<Integer> transactionWrites = new CopyOnWriteArrayList<>();

  /** Records what is done with {@code real}. */
  public ReadRecordingStorage(Storage real) {
    this.real = real;
  }

  @Override
  public Optional<StoredEntry> get(String key) {
    reads.add(key);
    return real.get(key);
  }

  @Override
  public void put(String key, byte[] value) {
    real.put(key, value);
  }

  @Override
  public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    return real.compareAndSet(key, expectedVersion, value);
  }

  @Override
  public List<String> list(String prefix) {
    reads.add(prefix);
    return real.list(prefix);
  }

  @Override
  public List<String> list(String prefix, String after, int limit) {
    reads.add(prefix + "[" + after + "," + limit + "]");
    return real.list(prefix, after, limit);
  }

  @Override
  public boolean delete(String key) {
    return real.delete(key);
  }

  @Override
  public <T> T atomically(Function<StorageOps, T> work) {
    int[] writes = new int[1];
    T result = real.atomically(ops -> {
      writes[0] = 0;
      return work.apply(new StorageOps() {
        @Override
        public Optional<StoredEntry> get(String key) {
          reads.add(key);
          return ops.get(key);
        }

        @Override
        public void put(String key, byte[] value) {
          writes[0]++;
          ops.put(key, value);
        }

        @Override
        public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
          writes[0]++;
          return ops.compareAndSet(key, expectedVersion, value);
        }

        @Override
        public List<String> list(String prefix) {
          reads.add(prefix);
          return ops.list(prefix);
        }

        @Override
        public List<String> list(String prefix, String after, int limit) {
          reads.add(prefix + "[" + after + "," + limit + "]");
          return ops.list(prefix, after, limit);
        }

        @Override
        public boolean delete(String key) {
          writes[0]++;
          return ops.delete(key);
        }
      });
    });
    transactionWrites.add(writes[0]);
    return result;
  }

  @Override
  public StorageWatch watch(String prefix, StorageListener listener) {
    return real.watch(prefix, listener);
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

