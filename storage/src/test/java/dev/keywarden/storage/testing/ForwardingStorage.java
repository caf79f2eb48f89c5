package dev.keywarden.storage.testing;

import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageListener;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StorageWatch;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.WorkLease;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * A Storage for tests that passes every call to {@code delegate}, including the paged reads and the lease, so a
 * wrapper overrides only what it watches or changes. (Leaving a paged read to Storage's default would answer it by
 * listing the whole prefix through the wrapper: not what the store does.)
 */
public abstract class ForwardingStorage implements Storage {
  /** The storage every call goes to. */
  protected final Storage delegate;

  protected ForwardingStorage(Storage delegate) {
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

  @Override
  public <T> T atomically(Function<StorageOps, T> work) {
    return delegate.atomically(work);
  }

  @Override
  public StorageWatch watch(String prefix, StorageListener listener) {
    return delegate.watch(prefix, listener);
  }

  @Override
  public WorkLease lease(String name) {
    return delegate.lease(name);
  }

  @Override
  public String kind() {
    return delegate.kind();
  }

  @Override
  public void close() {
    delegate.close();
  }
}
