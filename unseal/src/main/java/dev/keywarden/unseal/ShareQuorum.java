package dev.keywarden.unseal;

import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Shares collected toward K for one purpose (unseal, rekey, generate-root). Not thread-safe: the owner serializes
 * access. The same share twice counts once.
 */
final class ShareQuorum {
  private final SealHeader header;
  private final Map<Integer, UnsealShare> shares = new TreeMap<>();

  ShareQuorum(SealHeader header) {
    this.header = header;
  }

  /** Adds one share after checking it belongs to the current split; returns the progress. */
  int add(UnsealShare share) {
    if (share.shareSetId() != header.shareSetId()) {
      share.destroy();
      throw KeywardenException.invalid("share " + share.index()
          + " belongs to another share set, not the current one (replaced by a rekey?); progress unchanged");
    }
    UnsealShare known = shares.get(share.index());
    if (known != null) {
      boolean same = Arrays.equals(known.value(), share.value());
      share.destroy();
      if (!same) {
        throw KeywardenException.invalid("a different share " + share.index() + " was already submitted; progress unchanged");
      }
      return shares.size();
    }
    shares.put(share.index(), share);
    return shares.size();
  }

  /** The split these shares are collected for. */
  SealHeader header() {
    return header;
  }

  int progress() {
    return shares.size();
  }

  boolean complete() {
    return shares.size() >= header.threshold();
  }

  /** Rebuilds the unseal key; the caller zeroizes it. */
  byte[] combine() {
    return UnsealKeySplitter.combine(shares.values());
  }

  /** Drops and zeroizes every share. */
  void clear() {
    shares.values().forEach(UnsealShare::destroy);
    shares.clear();
  }
}
