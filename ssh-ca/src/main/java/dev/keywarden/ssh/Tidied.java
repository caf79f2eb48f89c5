package dev.keywarden.ssh;

import java.util.List;

/**
 * What {@link SshEngine#tidy} removed: expired certificates, expired revocations (serials and key ids), and
 * rotated-out CA keys ("CA/KEYID") whose certificates had all expired, their HSM keys destroyed.
 */
public record Tidied(int certificates, int revocations, List<String> caKeysRemoved) {
  public Tidied {
    caKeysRemoved = List.copyOf(caKeysRemoved);
  }
}
