package dev.keywarden.storage;

/**
 * Index keys whose order is time order: a prefix, then epoch seconds zero-padded to a fixed width (the PKI's expiry
 * index, transit's rotation index, SSH's expiry indexes), read as a range up to a time.
 */
public final class TimeKeys {
  private TimeKeys() {}

  /**
   * {@code prefix} and {@code seconds} (unsigned) padded to {@code digits}, for the caller to append the rest to. By
   * hand, not String.format, which parses its pattern on every call: every stored certificate makes one.
   */
  public static StringBuilder start(String prefix, long seconds, int digits) {
    String text = Long.toUnsignedString(seconds);
    StringBuilder key = new StringBuilder(prefix.length() + digits + 64).append(prefix);
    for (int pad = text.length(); pad < digits; pad++) {
      key.append('0');
    }
    return key.append(text);
  }

  /** The seconds of a key {@link #start} made under {@code prefix} (up to the next '/', or the end). */
  public static long seconds(String prefix, String key) {
    int end = key.indexOf('/', prefix.length());
    return Long.parseUnsignedLong(key, prefix.length(), end < 0 ? key.length() : end, 10);
  }
}
