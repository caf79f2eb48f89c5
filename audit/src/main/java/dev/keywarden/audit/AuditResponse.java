package dev.keywarden.audit;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the response record of a call says: written after the engine ran. Secrets as in {@link AuditRequest}.
 *
 * @param status the gRPC status code's name ("OK", "INVALID_ARGUMENT", …)
 * @param error the status message for a failed call (never holds a secret), or empty
 * @param engine identifiers the engine produced (a new key version, the issued certificate's serial)
 * @param secrets named secret outputs (a ciphertext, a data key), written only as HMACs
 * @param batchItems the number of items of a batch call, 0 for a single call
 * @param batchStatuses per item status name, how many items ended with it
 */
public record AuditResponse(String status, String error, Map<String, String> engine, Map<String, byte[]> secrets,
                            int batchItems, Map<String, Integer> batchStatuses) {
  public AuditResponse {
    status = AuditCaller.orEmpty(status);
    error = AuditCaller.orEmpty(error);
    engine = sortedCopy(engine);
    secrets = sortedCopy(secrets);
    batchStatuses = sortedCopy(batchStatuses);
  }

  /** A single call's response with only a status. */
  public static AuditResponse of(String status) {
    return new AuditResponse(status, "", Map.of(), Map.of(), 0, Map.of());
  }

  @Override
  public String toString() {
    return "AuditResponse[status=" + status + ", secrets=" + secrets.keySet() + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AuditResponse r && status.equals(r.status) && error.equals(r.error)
        && engine.equals(r.engine) && batchItems == r.batchItems && batchStatuses.equals(r.batchStatuses)
        && sameSecrets(secrets, r.secrets);
  }

  @Override
  public int hashCode() {
    return status.hashCode();
  }

  /** The class of {@code Map.of(k, v)}: immutable, no nulls, one entry, so sorted as it is. */
  private static final Class<?> ONE_ENTRY = Map.of("", "").getClass();

  /**
   * {@code m} by name, and no longer the caller's: most calls have no or one identifier, secret and status, so those
   * are an immutable map of one entry (kept as it is when it is one already) or none, and only two or more are
   * copied into a TreeMap.
   */
  static <V> Map<String, V> sortedCopy(Map<String, V> m) {
    if (m == null || m.isEmpty()) {
      return Map.of();
    }
    if (m.size() > 1) {
      return new TreeMap<>(m);
    }
    if (m.getClass() == ONE_ENTRY) {
      return m;
    }
    var e = m.entrySet().iterator().next();
    String name = java.util.Objects.requireNonNull(e.getKey()); // as a TreeMap refuses a null name
    return e.getValue() == null ? Collections.singletonMap(name, null) : Map.of(name, e.getValue());
  }

  static boolean sameSecrets(Map<String, byte[]> a, Map<String, byte[]> b) {
    if (!a.keySet().equals(b.keySet())) {
      return false;
    }
    for (var e : a.entrySet()) {
      if (!Arrays.equals(e.getValue(), b.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
