package dev.keywarden.server.cli;

import com.google.protobuf.Timestamp;
import dev.keywarden.api.v1.ClusterNode;
import dev.keywarden.api.v1.GetStatusRequest;
import dev.keywarden.api.v1.GetStatusResponse;
import java.time.Instant;
import picocli.CommandLine.Command;

/** `keywarden status`: no token needed. */
@Command(name = "status", description = "Show whether the server is initialized and sealed, and what it runs on.")
final class StatusCommand extends ClientCommand {
  @Override
  Integer run() throws Exception {
    GetStatusResponse s = system().getStatus(GetStatusRequest.getDefaultInstance());
    StringBuilder text = new StringBuilder()
        .append("Initialized:     ").append(s.getInitialized()).append('\n')
        .append("Sealed:          ").append(s.getSealed()).append('\n')
        .append("Shares:          ").append(s.getShares()).append('\n')
        .append("Threshold:       ").append(s.getThreshold()).append('\n')
        .append("Unseal progress: ").append(s.getUnsealProgress()).append('/').append(s.getThreshold()).append('\n')
        .append("HSM:             ").append(s.getHsmKind()).append('\n')
        .append("HSM library:     ").append(s.getHsmLibrary()).append('\n')
        .append("HSM token:       ").append(s.getHsmToken()).append('\n')
        .append("KEK label:       ").append(s.getKekLabel()).append('\n')
        .append("Storage:         ").append(s.getStorageKind()).append('\n')
        .append("Version:         ").append(s.getVersion());
    if (!s.getRekeyNonce().isEmpty()) {
      text.append("\nRekey nonce:     ").append(s.getRekeyNonce());
    }
    if (!s.getGenerateRootNonce().isEmpty()) {
      text.append("\nGenerate-root nonce: ").append(s.getGenerateRootNonce());
    }
    if (s.getNodesCount() > 0) {
      text.append("\nServers sharing the storage:");
      for (ClusterNode n : s.getNodesList()) {
        text.append("\n  ").append(n.getNode()).append(n.getThisNode() ? " (this one)" : "")
            .append("  ").append(n.getSealed() ? "sealed" : "unsealed")
            .append(n.getHoldsLease() ? "  runs periodic work" : "")
            .append("  v").append(n.getVersion())
            .append("  heartbeat ").append(utc(n.getLastHeartbeat()))
            .append(n.getStale() ? "  STALE" : "");
      }
    }
    print(s, text.toString());
    return 0;
  }

  /**
   * The time as RFC 3339 in UTC, as protobuf's {@code Timestamps.toString} writes it (fraction in 3, 6 or 9 digits,
   * none when zero). Not that method: its {@code SimpleDateFormat} loads the JDK's calendar and locale data, about a
   * tenth of a `status` call's CPU.
   */
  static String utc(Timestamp time) {
    return Instant.ofEpochSecond(time.getSeconds(), time.getNanos()).toString();
  }
}
