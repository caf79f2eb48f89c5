package dev.keywarden.storage.testing;

import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StoredEntry;
import java.util.List;
import java.util.Optional;

/** The {@link ForwardingStorage} of the ops inside a transaction: every call goes to {@code delegate}. */
public abstract class ForwardingStorageOps implements StorageOps {
  /** The ops every call goes to. */
  protected final StorageOps delegate;

  protected ForwardingStorageOps(StorageOps delegate) {
    this.delegate = delegate;
  }

  @Override
  public Optional<StoredEntry> get(String key) {
    return delegate.get(key);
  }

  @Override
  public void put(String key, byte[] value) {
    delegate.put(key, value);
  }

  @Override
  public boolean compareAndSet(String key, long expectedVersion, byte[] value) {
    return delegate.compareAndSet(key, expectedVersion, value);
  }

  @Override
  public List<String> list(String prefix) {
    return delegate.list(prefix);
  }

  @Override
  public List<String> list(String prefix, String after, int limit) {
    return delegate.list(prefix, after, limit);
  }

  @Override
  public List<StoredEntry> entries(String prefix, String after, int limit) {
    return delegate.entries(prefix, after, limit);
  }

  @Override
  public boolean delete(String key) {
    return delegate.delete(key);
  }
}
