package dev.keywarden.storage.testing;

import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StoredEntry;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * Storage that records every key read and prefix listed (a page as {@code prefix[after,limit]}, whether of keys or of
 * entries), and how many writes each transaction made.
 */
public final class ReadRecordingStorage extends ForwardingStorage {
  /** Every key read, in order. */
  public final List<String> reads = new CopyOnWriteArrayList<>();
  /** How many writes each committed transaction made. */
  public final List<Integer> transactionWrites = new CopyOnWriteArrayList<>();

  /** Records what is done with {@code real}. */
  public ReadRecordingStorage(Storage real) {
    super(real);
  }

  @Override
  public Optional<StoredEntry> get(String key) {
    reads.add(key);
    return super.get(key);
  }

  @Override
  public List<String> list(String prefix) {
    reads.add(prefix);
    return super.list(prefix);
  }

  @Override
  public List<String> list(String prefix, String after, int limit) {
    reads.add(page(prefix, after, limit));
    return super.list(prefix, after, limit);
  }

  @Override
  public List<StoredEntry> entries(String prefix, String after, int limit) {
    reads.add(page(prefix, after, limit));
    return super.entries(prefix, after, limit);
  }

  @Override
  public <T> T atomically(Function<StorageOps, T> work) {
    int[] writes = new int[1];
    T result = super.atomically(ops -> {
      writes[0] = 0;
      return work.apply(new ForwardingStorageOps(ops) {
        @Override
        public Optional<StoredEntry> get(String key) {
          reads.add(key);
          return super.get(key);
        }

        @Override
        public void put(String key, byte[] value) {
          writes[0]++;
          super.put(key, value);
        }

        @Override
        public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
          writes[0]++;
          return super.compareAndSet(key, expectedVersion, value);
        }

        @Override
        public List<String> list(String prefix) {
          reads.add(prefix);
          return super.list(prefix);
        }

        @Override
        public List<String> list(String prefix, String after, int limit) {
          reads.add(page(prefix, after, limit));
          return super.list(prefix, after, limit);
        }

        @Override
        public List<StoredEntry> entries(String prefix, String after, int limit) {
          reads.add(page(prefix, after, limit));
          return super.entries(prefix, after, limit);
        }

        @Override
        public boolean delete(String key) {
          writes[0]++;
          return super.delete(key);
        }
      });
    });
    transactionWrites.add(writes[0]);
    return result;
  }

  private static String page(String prefix, String after, int limit) {
    return prefix + "[" + after + "," + limit + "]";
  }
}
