package dev.keywarden.storage;

import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A store's own cache (a map it fills under per-entry locks, as {@code ConcurrentHashMap.compute} gives) wired to the
 * change feed, for the stores that are not a {@link ReadThroughCache}: every committed change under the prefix, by
 * this server or another sharing the store, forgets that entry; a feed reset forgets everything; and while the feed
 * is not {@link #live()} the store must read storage rather than keep what it reads. A fill racing a notice holds the
 * entry's lock, so the removal lands after it. The store's own writes, which update the cache under that lock
 * themselves, run inside {@link #writing}, so that the notice of their commit (delivered on the committing thread on
 * SQLite) does not re-enter the map.
 */
public final class CacheFeed implements AutoCloseable {
  private final StorageWatch watch;
  private final ThreadLocal<Boolean> writing = ThreadLocal.withInitial(() -> false);

  private CacheFeed(Storage storage, String prefix, Consumer<String> forget, Runnable forgetAll) {
    this.watch = storage.watch(prefix, new StorageListener() {
      @Override
      public void changed(String key) {
        if (!writing.get()) {
          forget.accept(key.substring(prefix.length()));
        }
      }

      @Override
      public void reset() {
        forgetAll.run();
      }
    });
  }

  /**
   * Watches {@code prefix}: {@code forget} gets the rest of each changed key after the prefix, {@code forgetAll} runs
   * on a reset.
   */
  public static CacheFeed watch(Storage storage, String prefix, Consumer<String> forget, Runnable forgetAll) {
    return new CacheFeed(storage, prefix, forget, forgetAll);
  }

  /** Whether what is read now may be kept (false while the feed reconnects). */
  public boolean live() {
    return watch.live();
  }

  /** Runs one of the store's own writes, which updates its cache itself. */
  public <T> T writing(Supplier<T> write) {
    writing.set(true);
    try {
      return write.get();
    } finally {
      writing.set(false);
    }
  }

  @Override
  public void close() {
    watch.close();
  }
}
