package dev.keywarden.jwt;

import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageListener;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StorageWatch;
import dev.keywarden.storage.StoredEntry;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/** Storage that counts the reads and writes of JWT records, to show what the signing path costs. */
final class CountingStorage implements Storage {
  private final Storage inner;
  final AtomicInteger jwtReads = new AtomicInteger();
  final AtomicInteger jwtWrites = new AtomicInteger();

  CountingStorage(Storage inner) {
    this.inner = inner;
  }

  private void read(String key) {
    if (key.startsWith("jwt/")) {
      jwtReads.incrementAndGet();
    }
  }

  private void wrote(String key) {
    if (key.startsWith("jwt/")) {
      jwtWrites.incrementAndGet();
    }
  }

  @Override
  public Optional<StoredEntry> get(String key) {
    read(key);
    return inner.get(key);
  }

  @Override
  public void put(String key, byte[] value) {
    wrote(key);
    inner.put(key, value);
  }

  @Override
  public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    wrote(key);
    return inner.compareAndSet(key, expectedVersion, value);
  }

  @Override
  public List<String> list(String prefix) {
    read(prefix);
    return inner.list(prefix);
  }

  @Override
  public boolean delete(String key) {
    wrote(key);
    return inner.delete(key);
  }

  @Override
  public <T> T atomically(Function<StorageOps, T> work) {
    return inner.atomically(work);
  }

  @Override
  public StorageWatch watch(String prefix, StorageListener listener) {
    return inner.watch(prefix, listener);
  }

  @Override
  public String kind() {
    return inner.kind();
  }

  @Override
  public void close() {
    inner.close();
  }
}
