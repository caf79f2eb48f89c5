package dev.keywarden.transit;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A keyring's settings.
 *
 * @param derived every operation derives a per-context key (HKDF) from the version's key; a context is required
 * @param convergent deterministic encryption (derived keys only): same plaintext and context, same ciphertext
 * @param autoRotatePeriodSeconds rotate when the latest version is this old; 0 for never
 */
public record KeyringConfig(
    @JsonProperty("derived") boolean derived,
    @JsonProperty("convergent") boolean convergent,
    @JsonProperty("deletion_allowed") boolean deletionAllowed,
    @JsonProperty("auto_rotate_period_seconds") long autoRotatePeriodSeconds,
    @JsonProperty("min_decryption_version") int minDecryptionVersion,
    @JsonProperty("min_encryption_version") int minEncryptionVersion) {}
