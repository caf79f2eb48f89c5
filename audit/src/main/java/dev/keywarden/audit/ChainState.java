package dev.keywarden.audit;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * Where a device's hash chain stands: the sequence number of its last record and the SHA-256 of that record's line.
 * A new chain stands at sequence 0 with an all-zero hash.
 */
record ChainState(long seq, byte[] hash) {
  static final int HASH_BYTES = 32;
  static final ChainState NEW = new ChainState(0, new byte[HASH_BYTES]);

  ChainState {
    if (seq < 0 || hash == null || hash.length != HASH_BYTES) {
      throw new IllegalArgumentException("bad chain state");
    }
    hash = hash.clone();
  }

  String hashHex() {
    return HexFormat.of().formatHex(hash);
  }

  /** Copies the hash into {@code to} (32 bytes) without a new array. */
  void copyHash(byte[] to) {
    System.arraycopy(hash, 0, to, 0, HASH_BYTES);
  }

  @Override
  public byte[] hash() {
    return hash.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChainState c && c.seq == seq && Arrays.equals(c.hash, hash);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(seq) * 31 + Arrays.hashCode(hash);
  }

  @Override
  public String toString() {
    return "ChainState[seq=" + seq + ", hash=" + hashHex() + "]";
  }
}
