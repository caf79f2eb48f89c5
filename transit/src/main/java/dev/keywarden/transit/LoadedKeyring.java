package dev.keywarden.transit;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;

/**
 * A keyring as the request path sees it: the stored keyring plus its versions unwrapped on first use. Replaced, not
 * changed, when the keyring changes; unwrapped versions carry over to the replacement.
 */
final class LoadedKeyring {
  final Keyring keyring;
  final KeyType type;
  /** The storage version this keyring was read or written at: a change never replaces a newer one with an older one. */
  final long stored;
  private final ConcurrentHashMap<Integer, VersionKey> versions;

  LoadedKeyring(Keyring keyring, long stored, ConcurrentHashMap<Integer, VersionKey> carried) {
    this.keyring = keyring;
    this.type = keyring.keyType();
    this.stored = stored;
    this.versions = carried;
    versions.keySet().removeIf(v -> v < keyring.oldestVersion());
  }

  /** The unwrapped version, loading it with {@code loader} on first use (once, even under concurrent callers). */
  VersionKey version(int version, IntFunction<VersionKey> loader) {
    VersionKey key = versions.get(version);
    return key != null ? key : versions.computeIfAbsent(version, loader::apply);
  }

  /**
   * The next generation of this keyring (written at storage version {@code storedAt}), keeping what was already
   * unwrapped; this one when it is already as new (concurrent changes may finish out of order).
   */
  LoadedKeyring next(Keyring changed, long storedAt) {
    return storedAt <= stored ? this : new LoadedKeyring(changed, storedAt, versions);
  }

  void destroy() {
    versions.values().forEach(VersionKey::destroy);
    versions.clear();
  }
}
