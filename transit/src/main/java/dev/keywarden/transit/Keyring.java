package dev.keywarden.transit;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.failure.KeywardenException;
import java.util.ArrayList;
import java.util.List;

/**
 * A named keyring: its type, settings and versions (1..latest, the oldest possibly trimmed). Immutable: every change
 * makes a new keyring, written with compare-and-set so concurrent changes never overwrite each other.
 */
public record Keyring(
    @JsonProperty("name") String name,
    @JsonProperty("type") String type,
    @JsonProperty("create_time") long createTime,
    @JsonProperty("config") KeyringConfig config,
    @JsonProperty("versions") List<KeyVersion> versions) {

  public Keyring {
    versions = List.copyOf(versions);
  }

  @JsonIgnore
  public KeyType keyType() {
    return KeyType.parse(type);
  }

  /** The newest version number. */
  @JsonIgnore
  public int latestVersion() {
    return versions.get(versions.size() - 1).version();
  }

  /** The oldest version still kept. */
  @JsonIgnore
  public int oldestVersion() {
    return versions.get(0).version();
  }

  /** The effective minimum version for decrypting and verifying. */
  @JsonIgnore
  public int minDecryptionVersion() {
    return Math.max(1, config.minDecryptionVersion());
  }

  /** The version that new encryptions use: the latest. Refused when it is below min_encryption_version. */
  @JsonIgnore
  public KeyVersion encryptionVersion() {
    return versions.get(versions.size() - 1);
  }

  /** The stored version for old data, checked against the minimum; NOT_FOUND/FAILED_PRECONDITION name the problem. */
  public KeyVersion version(int version) {
    if (version > latestVersion()) {
      throw KeywardenException.invalid("key '" + name + "' has no version " + version + " (latest is "
          + latestVersion() + ")");
    }
    if (version < minDecryptionVersion()) {
      throw KeywardenException.precondition("version " + version + " of key '" + name
          + "' is below its min_decryption_version " + minDecryptionVersion());
    }
    if (version < oldestVersion()) {
      throw KeywardenException.precondition("version " + version + " of key '" + name + "' was trimmed");
    }
    return versions.get(version - oldestVersion());
  }

  Keyring withVersion(KeyVersion added) {
    List<KeyVersion> next = new ArrayList<>(versions);
    next.add(added);
    return new Keyring(name, type, createTime, config, next);
  }

  Keyring withConfig(KeyringConfig newConfig) {
    return new Keyring(name, type, createTime, newConfig, versions);
  }

  Keyring withVersionsFrom(int oldestKept) {
    return new Keyring(name, type, createTime, config,
        versions.stream().filter(v -> v.version() >= oldestKept).toList());
  }

  Keyring replacing(KeyVersion changed) {
    List<KeyVersion> next = new ArrayList<>(versions);
    next.set(changed.version() - oldestVersion(), changed);
    return new Keyring(name, type, createTime, config, next);
  }
}
