package dev.keywarden.unseal;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.storage.CacheFeed;
import dev.keywarden.storage.CasRetry;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredEntry;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * `operator seal --all`: a seal generation in storage that every node sharing the store follows. Sealing all raises it
 * and seals this node; every other node hears the change on the change feed (or, after a feed reset, reads it) and
 * seals itself when the generation is above the one it saw when it was last unsealed. A node unsealed afterwards
 * remembers the new generation, so an old seal-all does not seal it again.
 */
final class ClusterSeal {
  private static final Logger log = LoggerFactory.getLogger(ClusterSeal.class);
  static final String KEY = "sys/cluster/seal-all";

  private final Core core;
  private final Storage storage;
  private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "keywarden-cluster-seal");
    t.setDaemon(true);
    return t;
  });
  /** The generation this node saw when it was last unsealed; the core's lock guards unseal and seal. */
  private volatile long seen;

  ClusterSeal(Core core, Storage storage) {
    this.core = core;
    this.storage = storage;
    this.seen = generation();
    core.addUnsealListener(() -> seen = generation());
    CacheFeed.watch(storage, KEY, key -> check(), this::check);
  }

  /** Raises the generation (every node seals) and returns it. */
  long sealAll() {
    long[] next = new long[1];
    CasRetry.untilStored("the cluster seal", () -> {
      Optional<StoredEntry> e = storage.get(KEY);
      next[0] = e.map(x -> parse(x.value())).orElse(0L) + 1;
      boolean stored = e.isEmpty() ? storage.compareAndSet(KEY, 0, bytes(next[0]))
          : storage.compareAndSet(KEY, e.get().version(), bytes(next[0]));
      return stored ? Optional.of(true) : Optional.empty();
    });
    log.info("seal --all: cluster seal generation {}", next[0]);
    return next[0];
  }

  /** Off the feed's thread (on SQLite, a committing writer's): seals this node if a seal-all came after its unseal. */
  private void check() {
    worker.execute(() -> {
      try {
        long now = generation();
        if (!core.isSealed() && now > seen && core.sealIfUnsealed()) {
          log.warn("sealed: a node asked every node to seal (cluster seal generation {})", now);
        }
      } catch (KeywardenException e) {
        log.warn("the cluster seal could not be checked: {}", e.getMessage());
      }
    });
  }

  private long generation() {
    return storage.get(KEY).map(e -> parse(e.value())).orElse(0L);
  }

  private static long parse(byte[] v) {
    try {
      return Long.parseLong(new String(v, UTF_8).trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static byte[] bytes(long n) {
    return Long.toString(n).getBytes(UTF_8);
  }
}
