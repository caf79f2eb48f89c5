package dev.keywarden.audit;

import java.time.Instant;
import java.util.List;

/**
 * Whether auditing works now, for the health endpoint.
 *
 * @param enabled whether any device is enabled (false: auditing is off)
 * @param available whether calls can be audited now: off, or at least one device is writing
 * @param devices each device's state
 */
public record AuditHealth(boolean enabled, boolean available, List<DeviceHealth> devices) {
  public AuditHealth {
    devices = List.copyOf(devices);
  }

  /** What a device is doing. */
  public enum State {
    /** Writing. */
    HEALTHY,
    /** A write has not finished within the device timeout (a full pipe, a peer that stopped reading): new records
     * fail at once until it finishes. */
    STUCK,
    /** Its last write or connect failed: new records fail at once, but one is let through now and then (250 ms, then
     * up to every 2 s) to see whether it recovered; a socket also reconnects by itself. */
    FAILING,
    /** Not open: sealed, or closed. */
    CLOSED
  }

  /**
   * One device.
   *
   * @param reason why it is not healthy (no secret), or empty
   * @param since when it entered this state
   */
  public record DeviceHealth(String name, State state, String reason, Instant since, int queueDepth) {}
}
