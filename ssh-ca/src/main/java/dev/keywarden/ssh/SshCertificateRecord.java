package dev.keywarden.ssh;

import java.time.Instant;
import java.util.List;

/** A stored certificate; {@code revokedAt} is null unless revoked. */
public record SshCertificateRecord(String serial, String caName, String caKeyId, String keyId, CertType type,
    List<String> principals, Instant validAfter, Instant validBefore, String certificate, Instant revokedAt) {
  public SshCertificateRecord {
    principals = List.copyOf(principals);
  }
}
