package dev.keywarden.storage;

/** One {@link Storage#watch} subscription; closing it stops the deliveries. */
public interface StorageWatch extends AutoCloseable {

  /**
   * True while changes are being delivered; false while the feed is reconnecting (a {@code reset()} came and another
   * follows once it is back). A cache must not keep what it reads while this is false.
   */
  boolean live();

  @Override
  void close();
}
