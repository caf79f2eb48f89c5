package dev.keywarden.server.cluster;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredJson;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The servers sharing one store, as `keywarden status` shows them: each writes a heartbeat row (sys/nodes/NODE: its
 * address, version, sealed or not, whether it holds the periodic-work lease, when) every {@link #PERIOD}, sealed or
 * not, and reads everyone's when asked. A row older than three periods is shown as stale; one older than a day is
 * removed by whoever lists.
 */
public final class ClusterNodes implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterNodes.class);
  static final String PREFIX = "sys/nodes/";
  public static final Duration PERIOD = Duration.ofSeconds(5);
  private static final Duration FORGET_AFTER = Duration.ofDays(1);

  /** One server's last heartbeat. */
  public record Node(@JsonProperty("node") String node, @JsonProperty("address") String address,
                     @JsonProperty("version") String version, @JsonProperty("sealed") boolean sealed,
                     @JsonProperty("lease") boolean holdsLease, @JsonProperty("heartbeat") long heartbeatMillis) {}

  private final Storage storage;
  private final Clock clock;
  private final String node;
  private final String address;
  private final String version;
  private final BooleanSupplier sealed;
  private final BooleanSupplier holdsLease;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keywarden-heartbeat");
    t.setDaemon(true);
    return t;
  });

  /** Writes this server's heartbeat now and every {@link #PERIOD}. */
  public ClusterNodes(Storage storage, Clock clock, String node, String address, String version,
      BooleanSupplier sealed, BooleanSupplier holdsLease) {
    this.storage = storage;
    this.clock = clock;
    this.node = node;
    this.address = address;
    this.version = version;
    this.sealed = sealed;
    this.holdsLease = holdsLease;
    timer.scheduleWithFixedDelay(this::beat, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** This server's heartbeat, now (also run every {@link #PERIOD}). */
  public void beat() {
    try {
      storage.put(PREFIX + node, StoredJson.write(new Node(node, address, version, sealed.getAsBoolean(),
          holdsLease.getAsBoolean(), clock.millis())));
    } catch (RuntimeException e) {
      log.debug("heartbeat not written: {}", e.getClass().getSimpleName()); // storage down: status says stale
    }
  }

  /** Every server's last heartbeat, this one first; rows older than a day are removed. */
  public List<Node> nodes() {
    List<Node> out = new ArrayList<>();
    long now = clock.millis();
    for (String key : storage.list(PREFIX)) {
      Optional<Node> n = storage.get(key).map(e -> StoredJson.read(e.value(), Node.class));
      if (n.isEmpty()) {
        continue;
      }
      if (now - n.get().heartbeatMillis() > FORGET_AFTER.toMillis()) {
        storage.delete(key);
        continue;
      }
      if (n.get().node().equals(node)) {
        out.add(0, n.get());
      } else {
        out.add(n.get());
      }
    }
    return out;
  }

  /** Whether {@code n}'s heartbeat is older than three periods. */
  public boolean stale(Node n) {
    return clock.millis() - n.heartbeatMillis() > 3 * PERIOD.toMillis();
  }

  /** This server's name among the nodes. */
  public String node() {
    return node;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
