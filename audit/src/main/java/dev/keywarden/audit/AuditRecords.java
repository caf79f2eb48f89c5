package dev.keywarden.audit;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StoredJson;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;

/**
 * What the audit log keeps in storage: each device's settings, its HMAC key wrapped by the KEK, where its chain stood
 * at its last checkpoint or close, and the audit signing key's HSM id (the key itself never leaves the HSM).
 */
final class AuditRecords {
  static final String DEVICES = "sys/audit/devices/";
  static final String HMAC_KEYS = "sys/audit/hmac/";
  static final String CHAINS = "sys/audit/chain/";
  static final String SIGNING_KEY = "sys/audit/signing-key";

  private AuditRecords() {}

  static String device(String name) {
    return DEVICES + name;
  }

  /** The wrapped key alone, as {@code WorkingKeys} reads it. */
  static String hmacKey(String name) {
    return HMAC_KEYS + name;
  }

  /** Before servers shared a store: one chain per device. Read as this server's when it has none of its own. */
  static String legacyChain(String name) {
    return CHAINS + name;
  }

  /** Each server writes its own files, so each has its own chain per device. */
  static String chain(String name, String node) {
    return CHAINS + name + "/" + node;
  }

  record StoredDevice(String name, String type, String path, String fsync, String address,
                      @JsonProperty("timeout_ms") long timeoutMs, @JsonProperty("queue_capacity") int queueCapacity,
                      @JsonProperty("enabled_at") String enabledAt,
                      @JsonProperty("fsync_interval_us") Long fsyncIntervalMicros) {
    static StoredDevice of(AuditDeviceConfig c, Instant enabledAt) {
      return new StoredDevice(c.name(), c.type().wireName(), c.path(), c.fsync().wireName(), c.address(),
          c.timeout().toMillis(), c.queueCapacity(), enabledAt.toString(), c.fsyncInterval().toNanos() / 1000);
    }

    /**
     * A device stored before fsync intervals existed (no {@code fsync_interval_us}) gets the default; one stored
     * before they were bounded by half the timeout gets that bound.
     */
    AuditDeviceConfig config() {
      Duration timeout = Duration.ofMillis(timeoutMs);
      Duration interval = fsyncIntervalMicros == null ? null : Duration.ofNanos(fsyncIntervalMicros * 1000);
      if (interval != null && interval.compareTo(timeout.dividedBy(2)) > 0) {
        interval = timeout.dividedBy(2);
      }
      return new AuditDeviceConfig(name, AuditDeviceConfig.Type.parse(type), path,
          AuditDeviceConfig.FsyncPolicy.parse(fsync), address, timeout, queueCapacity, interval);
    }

    Instant enabled() {
      return Instant.parse(enabledAt);
    }
  }

  record StoredChain(long seq, String hash) {
    ChainState state() {
      return new ChainState(seq, HexFormat.of().parseHex(hash));
    }
  }

  record StoredSigningKey(String label, @JsonProperty("id_hex") String idHex, String algorithm) {}

  static Optional<StoredDevice> readDevice(StorageOps s, String name) {
    return s.get(device(name)).map(e -> StoredJson.read(e.value(), StoredDevice.class));
  }

  static Optional<ChainState> readChain(StorageOps s, String name, String node) {
    return s.get(chain(name, node)).or(() -> s.get(legacyChain(name)))
        .map(e -> StoredJson.read(e.value(), StoredChain.class).state());
  }

  static void writeChain(StorageOps s, String name, String node, ChainState state) {
    s.put(chain(name, node), StoredJson.write(new StoredChain(state.seq(), state.hashHex())));
  }

  /** Deletes every server's chain state of device {@code name}. */
  static void deleteChains(StorageOps s, String name) {
    s.delete(legacyChain(name));
    for (String key : s.list(CHAINS + name + "/")) {
      s.delete(key);
    }
  }
}
