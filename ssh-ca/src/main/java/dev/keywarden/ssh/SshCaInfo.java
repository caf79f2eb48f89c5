package dev.keywarden.ssh;

import java.util.List;
import java.util.Set;

/** A CA: its published keys, newest (the signer) first, and the certificate types it is the default for. */
public record SshCaInfo(String name, List<SshCaKey> keys, Set<CertType> defaultFor) {
  public SshCaInfo {
    keys = List.copyOf(keys);
    defaultFor = Set.copyOf(defaultFor);
  }

  /** The key that signs new certificates. */
  public SshCaKey signer() {
    return keys.get(0);
  }
}
