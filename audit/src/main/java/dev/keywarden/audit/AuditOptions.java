package dev.keywarden.audit;

import dev.keywarden.hsm.KeyPairAlgorithm;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;

/**
 * How the audit log runs on this server.
 *
 * @param node this server's name, in every record
 * @param clock record times
 * @param random audit keys and call ids
 * @param checkpointEvery a checkpoint after this many records on a device (default 10,000)
 * @param checkpointInterval or after this long with records not yet signed (default 60 s)
 * @param signingKeyAlgorithm the audit signing key made in the HSM at the first enable: ED25519 (default) or EC_P256
 */
public record AuditOptions(String node, Clock clock, SecureRandom random, int checkpointEvery,
                           Duration checkpointInterval, KeyPairAlgorithm signingKeyAlgorithm) {
  public AuditOptions {
    if (node == null || node.isBlank()) {
      throw new IllegalArgumentException("node is empty");
    }
    if (checkpointEvery < 1 || checkpointInterval.isNegative() || checkpointInterval.isZero()) {
      throw new IllegalArgumentException("checkpoints need a positive count and interval");
    }
    if (signingKeyAlgorithm != KeyPairAlgorithm.ED25519 && signingKeyAlgorithm != KeyPairAlgorithm.EC_P256) {
      throw new IllegalArgumentException("the audit signing key is ED25519 or EC_P256");
    }
  }

  /** The defaults: system clock, 10,000 records or 60 s per checkpoint, an Ed25519 signing key. */
  public static AuditOptions defaults(String node) {
    return new AuditOptions(node, Clock.systemUTC(), new SecureRandom(), 10_000, Duration.ofSeconds(60),
        KeyPairAlgorithm.ED25519);
  }

  /** The same with another checkpoint cadence. */
  public AuditOptions withCheckpoints(int every, Duration interval) {
    return new AuditOptions(node, clock, random, every, interval, signingKeyAlgorithm);
  }

  /** The same with another signing key algorithm. */
  public AuditOptions withSigningKey(KeyPairAlgorithm algorithm) {
    return new AuditOptions(node, clock, random, checkpointEvery, checkpointInterval, algorithm);
  }
}
