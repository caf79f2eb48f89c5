package dev.keywarden.server.cli;

import dev.keywarden.api.v1.ClusterNode;
import dev.keywarden.api.v1.GetStatusRequest;
import dev.keywarden.api.v1.GetStatusResponse;
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
            .append("  heartbeat ").append(com.google.protobuf.util.Timestamps.toString(n.getLastHeartbeat()))
            .append(n.getStale() ? "  STALE" : "");
      }
    }
    print(s, text.toString());
    return 0;
  }
}
