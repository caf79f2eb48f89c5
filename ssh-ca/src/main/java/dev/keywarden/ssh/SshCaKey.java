package dev.keywarden.ssh;

import dev.keywarden.hsm.KeyType;
import java.time.Instant;

/**
 * One key of a CA. {@code retiredAt} is null for the signer; a retired key stays published until
 * {@code signedUntil} (the end of the latest certificate it signed, rounded up to the hour; null if it signed none).
 */
public record SshCaKey(String id, KeyType keyType, String publicKey, String fingerprint, Instant created,
    Instant retiredAt, Instant signedUntil) {}
