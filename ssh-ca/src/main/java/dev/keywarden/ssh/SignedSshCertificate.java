package dev.keywarden.ssh;

import java.time.Instant;
import java.util.List;

/**
 * A certificate just signed. {@code serial} is decimal (unsigned 64-bit); {@code certificate} is one line,
 * "ssh-ed25519-cert-v01@openssh.com AAAA… KEYID", to save as id_ed25519-cert.pub; {@code type} is the role's.
 */
public record SignedSshCertificate(String serial, String caName, String certificate, Instant validAfter,
    Instant validBefore, List<String> principals, String keyId, CertType type) {
  public SignedSshCertificate {
    principals = List.copyOf(principals);
  }
}
