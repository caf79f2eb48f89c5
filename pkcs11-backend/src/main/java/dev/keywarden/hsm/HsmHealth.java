package dev.keywarden.hsm;

import java.time.Instant;

/**
 * Whether an opened HSM can be reached right now, for health checks. Nothing secret.
 *
 * @param reachable false while the HSM is away and the backend is trying to reconnect
 * @param reason why it is unreachable (the last failure), or null while reachable
 * @param since when it became unreachable, or null while reachable
 */
public record HsmHealth(boolean reachable, String reason, Instant since) {

  /** An HSM that answers. */
  public static final HsmHealth REACHABLE = new HsmHealth(true, null, null);

  /** An HSM that does not answer, for this reason, since then. */
  public static HsmHealth unreachable(String reason, Instant since) {
    return new HsmHealth(false, reason, since);
  }
}
