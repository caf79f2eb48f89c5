package dev.keywarden.audit;

import java.io.IOException;

/** Where a device's bytes go: a file or a socket. Used by the device's writer thread only. */
interface Sink {

  /** What opening found: the chain state of the last record already in a file (null for none), and a note. */
  record Opened(ChainState tail, String note) {}

  /** Opens (or reopens) the file or connection. */
  Opened open() throws IOException;

  boolean isOpen();

  /** True when the file is shorter than this sink left it (logrotate's copy-truncate). */
  boolean truncatedBehind() throws IOException;

  /** Writes every byte of {@code bytes[0, length)}; blocks while the file system or the peer does. */
  void write(byte[] bytes, int length) throws IOException;

  /** Writes every byte. */
  default void write(byte[] bytes) throws IOException {
    write(bytes, bytes.length);
  }

  /** Makes what was written durable; returns whether an fsync was made. */
  boolean force() throws IOException;

  /** After a failed write or fsync: takes back what may be partly written, or drops the connection. */
  void afterFailedWrite();

  /** Closes; idempotent. */
  void close();
}
