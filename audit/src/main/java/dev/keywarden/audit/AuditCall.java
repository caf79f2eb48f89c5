package dev.keywarden.audit;

/**
 * A call whose request record was written: hand it back to {@link AuditLog#writeResponse}. {@link #NOT_AUDITED} when
 * auditing is off.
 *
 * @param id the id both records of the call carry (empty when not audited)
 * @param rpc the call's RPC
 * @param startNanos {@link System#nanoTime()} when the request record was made
 */
public record AuditCall(String id, String rpc, long startNanos) {
  /** What {@link AuditLog#writeRequest} returns while no device is enabled. */
  public static final AuditCall NOT_AUDITED = new AuditCall("", "", 0);

  /** Whether a request record was written. */
  public boolean audited() {
    return !id.isEmpty();
  }
}
