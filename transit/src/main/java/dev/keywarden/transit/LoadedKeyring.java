package dev.keywarden.transit;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;

/**
 * A keyring as the request path sees it: the stored keyring plus its versions unwrapped on first use. Replaced, not
 * changed, when the keyring changes; unwrapped versions carry over to the replacement.
 *
 * <p>What an encryption needs is copied into fields of this object (the latest version's number and unwrapped key,
 * whether the keyring is derived), so that with many keyrings used at random, each cold in memory, an encryption goes
 * from the cache's entry to this object to the key in two hops, instead of through the keyring, its version list, the
 * version record, its settings and a map of unwrapped versions (0.71× the rate of ten keys at 100,000 before).
 */
final class LoadedKeyring {
  final Keyring keyring;
  final KeyType type;
  /** The version new encryptions use: the keyring's latest. */
  final int latestVersion;
  /** Whether the keyring derives a key per context (and so needs one). */
  final boolean derived;
  /** The latest version unwrapped, once it has been; null before. */
  private volatile VersionKey latest;
  /** The storage version this keyring was read or written at: a change never replaces a newer one with an older one. */
  final long stored;
  private final Versions versions;

  /**
   * The unwrapped versions, shared by every generation of one keyring. Loading one and unloading them all (seal,
   * delete) hold its monitor, so a version whose unwrap was under way when the keyring was unloaded is never added
   * after the unload zeroized the rest: it would be kept by nothing and zeroized by nobody.
   */
  static final class Versions {
    private final ConcurrentHashMap<Integer, VersionKey> map = new ConcurrentHashMap<>();
    private volatile boolean unloaded;

    VersionKey get(int version) {
      return map.get(version);
    }

    /** Loads a version on first use; null once unloaded (the loaded key is zeroized then, not kept). */
    synchronized VersionKey load(int version, IntFunction<VersionKey> loader) {
      if (unloaded) {
        return null;
      }
      return map.computeIfAbsent(version, loader::apply);
    }

    synchronized void unload(VersionKey.Zeroized why) {
      unloaded = true;
      for (Iterator<VersionKey> it = map.values().iterator(); it.hasNext(); ) {
        VersionKey k = it.next();
        it.remove();
        k.destroy(why);
      }
    }

    boolean unloaded() {
      return unloaded;
    }

    /** Drops and zeroizes the versions below {@code oldest} (trimmed: their keys are gone from storage too). */
    synchronized void keepFrom(int oldest) {
      for (Iterator<Map.Entry<Integer, VersionKey>> it = map.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<Integer, VersionKey> e = it.next();
        if (e.getKey() < oldest) {
          it.remove();
          e.getValue().destroy(VersionKey.Zeroized.TRIMMED);
        }
      }
    }

    int size() {
      return map.size();
    }
  }

  LoadedKeyring(Keyring keyring, long stored, Versions carried) {
    this.keyring = keyring;
    this.type = keyring.keyType();
    this.latestVersion = keyring.latestVersion();
    this.derived = keyring.config().derived();
    this.stored = stored;
    this.versions = carried;
    versions.keepFrom(keyring.oldestVersion());
    this.latest = versions.get(latestVersion);
  }

  /** The latest version unwrapped; null until it has been (then {@link #version} loads it). */
  VersionKey latest() {
    return latest;
  }

  /** An unwrapped version if it has been loaded, else null; allocates nothing. */
  VersionKey loadedVersion(int version) {
    VersionKey key = version == latestVersion ? latest : null;
    return key != null ? key : versions.get(version);
  }

  /**
   * The unwrapped version, loading it with {@code loader} on first use (once, even under concurrent callers); null
   * when the keyring was unloaded (sealed or deleted) before it could be.
   */
  VersionKey version(int version, IntFunction<VersionKey> loader) {
    VersionKey key = versions.get(version);
    if (key == null) {
      key = versions.load(version, loader);
      if (key == null) {
        return null;
      }
    }
    if (version == latestVersion) {
      latest = key;
      if (versions.unloaded()) { // unloaded meanwhile (destroy clears the field after marking it unloaded)
        latest = null;
      }
    }
    return key;
  }

  /**
   * The next generation of this keyring (written at storage version {@code storedAt}), keeping what was already
   * unwrapped; this one when it is already as new (concurrent changes may finish out of order).
   */
  LoadedKeyring next(Keyring changed, long storedAt) {
    return storedAt <= stored ? this : new LoadedKeyring(changed, storedAt, versions);
  }

  /** Unloads the keyring (seal, delete): every unwrapped version is zeroized, and none is loaded from now on. */
  void destroy(VersionKey.Zeroized why) {
    versions.unload(why);
    latest = null;
  }
}
