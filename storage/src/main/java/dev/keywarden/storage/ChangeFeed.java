package dev.keywarden.storage;

import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The watchers of one Storage and the delivery of changes to them: a change goes to every watcher whose prefix the
 * key starts with; a listener that throws is logged and keeps its subscription.
 */
final class ChangeFeed {
  private static final Logger log = LoggerFactory.getLogger(ChangeFeed.class);

  private final CopyOnWriteArrayList<Subscription> subscriptions = new CopyOnWriteArrayList<>();
  private volatile boolean live = true;

  /** Adds a watcher of {@code prefix}. */
  StorageWatch watch(String prefix, StorageListener listener) {
    Keys.check(prefix);
    Objects.requireNonNull(listener, "listener");
    Subscription s = new Subscription(prefix, listener);
    subscriptions.add(s);
    return s;
  }

  /** Tells the watchers of {@code key} that it changed. */
  void changed(String key) {
    for (Subscription s : subscriptions) {
      if (key.startsWith(s.prefix)) {
        deliver(s, () -> s.listener.changed(key));
      }
    }
  }

  /**
   * Resets the watchers that may hold entries starting with {@code prefix}: theirs is longer and starts with it, or
   * shorter and it starts with theirs.
   */
  void resetOverlapping(String prefix) {
    for (Subscription s : subscriptions) {
      if (prefix.startsWith(s.prefix) || s.prefix.startsWith(prefix)) {
        deliver(s, s.listener::reset);
      }
    }
  }

  /** Resets every watcher; {@code live} says whether changes are delivered again from now on. */
  void resetAll(boolean live) {
    this.live = live;
    for (Subscription s : subscriptions) {
      deliver(s, s.listener::reset);
    }
  }

  boolean isEmpty() {
    return subscriptions.isEmpty();
  }

  private static void deliver(Subscription s, Runnable call) {
    if (s.closed) {
      return;
    }
    try {
      call.run();
    } catch (RuntimeException e) {
      log.warn("a storage listener of prefix '{}' failed", s.prefix, e);
    }
  }

  private final class Subscription implements StorageWatch {
    final String prefix;
    final StorageListener listener;
    volatile boolean closed;

    Subscription(String prefix, StorageListener listener) {
      this.prefix = prefix;
      this.listener = listener;
    }

    @Override
    public boolean live() {
      return live && !closed;
    }

    @Override
    public void close() {
      closed = true;
      subscriptions.remove(this);
    }

    @Override
    public String toString() {
      return "StorageWatch[prefix=" + prefix + "]";
    }
  }
}
