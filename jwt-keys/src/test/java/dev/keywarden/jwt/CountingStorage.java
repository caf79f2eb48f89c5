package dev.keywarden.jwt;

import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.testing.ForwardingStorage;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/** Storage that counts the reads and writes of JWT records, to show what the signing path costs. */
final class CountingStorage extends ForwardingStorage {
  final AtomicInteger jwtReads = new AtomicInteger();
  final AtomicInteger jwtWrites = new AtomicInteger();

  CountingStorage(Storage inner) {
    super(inner);
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
    return super.get(key);
  }

  @Override
  public void put(String key, byte[] value) {
    wrote(key);
    super.put(key, value);
  }

  @Override
  public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    wrote(key);
    return super.compareAndSet(key, expectedVersion, value);
  }

  @Override
  public List<String> list(String prefix) {
    read(prefix);
    return super.list(prefix);
  }

  @Override
  public List<String> list(String prefix, String after, int limit) {
    read(prefix);
    return super.list(prefix, after, limit);
  }

  @Override
  public List<StoredEntry> entries(String prefix, String after, int limit) {
    read(prefix);
    return super.entries(prefix, after, limit);
  }

  @Override
  public boolean delete(String key) {
    wrote(key);
    return super.delete(key);
  }
}
