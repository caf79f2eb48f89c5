package dev.keywarden.storage;

import java.util.HexFormat;

/** One stored value with its version (1 on first write, +1 on every write). */
public record StoredEntry(String key, byte[] value, long version) {
  @Override
  public String toString() {
    // values may be wrapped key material: print only their size
    return "StoredEntry[key=" + key + ", version=" + version + ", bytes=" + value.length + "]";
  }

  /** For tests and debugging of public values only. */
  public String valueHex() {
    return HexFormat.of().formatHex(value);
  }
}
