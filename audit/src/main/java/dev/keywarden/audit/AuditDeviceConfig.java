package dev.keywarden.audit;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * An audit device's settings, as enabled and stored (they survive restarts; an unseal reopens the device).
 *
 * @param name 1..128 letters, digits, '.', '_' or '-'
 * @param type file or socket
 * @param path the file device's absolute path (created 0600); empty for a socket
 * @param fsync the file device's fsync policy; {@link FsyncPolicy#BATCHED} for a socket (unused)
 * @param address the socket device's collector: {@code tcp:HOST:PORT} or {@code unix:/PATH}; empty for a file
 * @param timeout how long a call waits for this device to write its record (default 2 s): past it the device counts as
 *     stuck and new records fail at once until it writes again
 * @param queueCapacity how many records may wait for this device's writer (default 10,000); past it records fail at
 *     once
 * @param fsyncInterval a batched file's shortest time from one fsync to the next (default 1 ms or half the timeout if
 *     that is shorter; at most 100 ms and half the timeout; zero for every-record and sockets): records that arrive
 *     sooner wait for the next fsync together. It bounds the
 *     device's fsyncs per second, each of which costs ~0.1 ms of kernel CPU on a virtual disk, at the price of up to
 *     that much wait for a call's request record; a call after a quiet spell is written at once
 */
public record AuditDeviceConfig(String name, Type type, String path, FsyncPolicy fsync, String address,
                                Duration timeout, int queueCapacity, Duration fsyncInterval) {
  /** The default per-device timeout. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
  /** The default per-device queue capacity. */
  public static final int DEFAULT_QUEUE_CAPACITY = 10_000;
  private static final Duration MAX_TIMEOUT = Duration.ofMinutes(1);
  /** A batched file's default shortest time between two fsyncs. */
  public static final Duration DEFAULT_FSYNC_INTERVAL = Duration.ofMillis(1);
  private static final Duration MAX_FSYNC_INTERVAL = Duration.ofMillis(100);

  /** Where a device writes. */
  public enum Type {
    FILE,
    SOCKET;

    /** "file" or "socket". */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** Parses "file" or "socket"; INVALID_ARGUMENT otherwise. */
    public static Type parse(String s) {
      for (Type t : values()) {
        if (t.wireName().equals(s)) {
          return t;
        }
      }
      throw KeywardenException.invalid("audit device type is file or socket, got '" + Inputs.quoted(s) + "'");
    }
  }

  /** When a file device calls fsync. */
  public enum FsyncPolicy {
    /** One write and one fsync per record. */
    EVERY_RECORD("every-record"),
    /** Records of concurrent calls share one write and one fsync (a group commit); none is acknowledged before it. */
    BATCHED("batched");

    private final String wireName;

    FsyncPolicy(String wireName) {
      this.wireName = wireName;
    }

    /** "every-record" or "batched". */
    public String wireName() {
      return wireName;
    }

    /** Parses "every-record" or "batched"; INVALID_ARGUMENT otherwise. */
    public static FsyncPolicy parse(String s) {
      for (FsyncPolicy p : values()) {
        if (p.wireName.equals(s)) {
          return p;
        }
      }
      throw KeywardenException.invalid("fsync policy is every-record or batched, got '" + Inputs.quoted(s) + "'");
    }
  }

  public AuditDeviceConfig {
    Inputs.name("an audit device name", name);
    if (type == null) {
      throw KeywardenException.invalid("audit device type is missing: file or socket");
    }
    path = path == null ? "" : path;
    address = address == null ? "" : address;
    fsync = fsync == null ? FsyncPolicy.BATCHED : fsync;
    timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
    queueCapacity = queueCapacity == 0 ? DEFAULT_QUEUE_CAPACITY : queueCapacity;
    if (type == Type.FILE) {
      Inputs.maxChars("the audit file path", path, 4096);
      if (!address.isEmpty()) {
        throw KeywardenException.invalid("a file audit device takes a path, not an address");
      }
      try {
        if (!Path.of(path).isAbsolute()) {
          throw KeywardenException.invalid("the audit file path must be absolute, got '" + Inputs.quoted(path) + "'");
        }
      } catch (InvalidPathException e) {
        throw KeywardenException.invalid("the audit file path is not a valid path: '" + Inputs.quoted(path) + "'");
      }
    } else {
      if (!path.isEmpty()) {
        throw KeywardenException.invalid("a socket audit device takes an address, not a path");
      }
      SocketAddresses.parse(address);
    }
    if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(MAX_TIMEOUT) > 0) {
      throw KeywardenException.invalid("the audit device timeout must be more than 0 and at most 1m, got " + timeout);
    }
    if (queueCapacity < 1 || queueCapacity > 1_000_000) {
      throw KeywardenException.invalid("the audit device queue capacity must be 1..1000000, got " + queueCapacity);
    }
    if (fsyncInterval == null) {
      fsyncInterval = defaultFsyncInterval(type, fsync, timeout);
    }
    if (!fsyncInterval.isZero() && !(type == Type.FILE && fsync == FsyncPolicy.BATCHED)) {
      throw KeywardenException.invalid("an fsync interval applies to a batched file device only");
    }
    if (fsyncInterval.isNegative() || fsyncInterval.compareTo(MAX_FSYNC_INTERVAL) > 0) {
      throw KeywardenException.invalid("the fsync interval must be 0 to 100ms, got " + fsyncInterval);
    }
    if (fsyncInterval.compareTo(timeout.dividedBy(2)) > 0) {
      // a call's record may wait out a whole interval before its write and fsync begin
      throw KeywardenException.invalid("the fsync interval (" + fsyncInterval + ") must be at most half the device "
          + "timeout (" + timeout + "): a record may wait a whole interval before it is written");
    }
  }

  /** 1 ms for a batched file, but at most half its timeout; zero for the others. */
  private static Duration defaultFsyncInterval(Type type, FsyncPolicy fsync, Duration timeout) {
    if (type != Type.FILE || fsync != FsyncPolicy.BATCHED) {
      return Duration.ZERO;
    }
    Duration half = timeout.dividedBy(2);
    return half.compareTo(DEFAULT_FSYNC_INTERVAL) < 0 ? half : DEFAULT_FSYNC_INTERVAL;
  }

  /** A file device at {@code path} with the default timeout and queue. */
  public static AuditDeviceConfig file(String name, Path path, FsyncPolicy fsync) {
    return new AuditDeviceConfig(name, Type.FILE, path.toString(), fsync, "", DEFAULT_TIMEOUT,
        DEFAULT_QUEUE_CAPACITY, null);
  }

  /** A socket device shipping to {@code address} ({@code tcp:HOST:PORT} or {@code unix:/PATH}). */
  public static AuditDeviceConfig socket(String name, String address) {
    return new AuditDeviceConfig(name, Type.SOCKET, "", FsyncPolicy.BATCHED, address, DEFAULT_TIMEOUT,
        DEFAULT_QUEUE_CAPACITY, null);
  }

  /** The same device with another timeout (and, if its fsync interval was the default, the new one's default). */
  public AuditDeviceConfig withTimeout(Duration t) {
    boolean defaulted = fsyncInterval.equals(defaultFsyncInterval(type, fsync, timeout));
    return new AuditDeviceConfig(name, type, path, fsync, address, t, queueCapacity, defaulted ? null : fsyncInterval);
  }

  /** The same device with another queue capacity. */
  public AuditDeviceConfig withQueueCapacity(int capacity) {
    return new AuditDeviceConfig(name, type, path, fsync, address, timeout, capacity, fsyncInterval);
  }

  /** The same batched file device with another fsync interval. */
  public AuditDeviceConfig withFsyncInterval(Duration interval) {
    return new AuditDeviceConfig(name, type, path, fsync, address, timeout, queueCapacity, interval);
  }

  /** Where it writes, for messages and listings: the path or the address. */
  public String target() {
    return type == Type.FILE ? path : address;
  }
}
