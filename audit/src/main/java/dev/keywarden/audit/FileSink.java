package dev.keywarden.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A file of JSON lines, opened for appending (so that logrotate's copy-truncate works: the next write lands at the
 * start of the emptied file), created mode 0600 and set to 0600 when it already exists. On open, a torn last line (an
 * interrupted write never acknowledged) is cut and the chain goes on from the last whole line.
 */
final class FileSink implements Sink {
  private static final Logger log = LoggerFactory.getLogger(FileSink.class);
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;
  private FileChannel channel;
  private boolean regular;
  private long expectedSize;

  FileSink(Path path) {
    this.path = path;
  }

  @Override
  public Opened open() throws IOException {
    close();
    FileChannel ch = FileChannel.open(path, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND), PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    try {
      regular = Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) || Files.isRegularFile(path);
      Opened opened = new Opened(null, "");
      if (regular) {
        Files.setPosixFilePermissions(path, OWNER_ONLY);
        opened = readTail(ch);
      }
      expectedSize = regular ? ch.size() : 0;
      channel = ch;
      return opened;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** The chain state of the file's last whole line; cuts a torn last line. */
  private Opened readTail(FileChannel ch) throws IOException {
    long size = ch.size();
    if (size == 0) {
      return new Opened(null, "");
    }
    try (FileChannel read = FileChannel.open(path, StandardOpenOption.READ)) {
      long end = size;
      String note = "";
      if (byteAt(read, size - 1) != '\n') {
        long lastNewline = lastNewlineBefore(read, size - 1);
        ch.truncate(lastNewline + 1);
        note = "cut a torn last line of " + (size - lastNewline - 1) + " bytes (an interrupted write)";
        log.warn("audit file {}: {}", path, note);
        end = lastNewline + 1;
        if (end == 0) {
          return new Opened(null, note);
        }
      }
      long start = lastNewlineBefore(read, end - 1) + 1;
      if (end - 1 - start > AuditVerifier.MAX_LINE_BYTES) {
        throw new NotAnAuditFile(path);
      }
      ByteBuffer line = ByteBuffer.allocate((int) (end - 1 - start));
      read.read(line, start);
      byte[] bytes = line.array();
      try {
        JsonNode node = JSON.readTree(bytes);
        JsonNode seq = node == null ? null : node.get("seq");
        if (seq == null || !seq.canConvertToLong() || seq.asLong() < 1) {
          throw new NotAnAuditFile(path);
        }
        return new Opened(new ChainState(seq.asLong(), Lines.sha256(bytes)), note);
      } catch (com.fasterxml.jackson.core.JacksonException e) {
        throw new NotAnAuditFile(path);
      }
    }
  }

  private static int byteAt(FileChannel ch, long pos) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(1);
    ch.read(b, pos);
    return b.get(0);
  }

  /** The position of the last '\n' before {@code pos}, or -1. */
  private static long lastNewlineBefore(FileChannel ch, long pos) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(8192);
    long end = pos;
    while (end > 0) {
      long start = Math.max(0, end - buf.capacity());
      buf.clear().limit((int) (end - start));
      ch.read(buf, start);
      for (int i = (int) (end - start) - 1; i >= 0; i--) {
        if (buf.get(i) == '\n') {
          return start + i;
        }
      }
      end = start;
    }
    return -1;
  }

  @Override
  public boolean isOpen() {
    return channel != null;
  }

  @Override
  public boolean truncatedBehind() throws IOException {
    return regular && channel.size() < expectedSize;
  }

  @Override
  public void write(byte[] bytes, int length) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(bytes, 0, length);
    while (buf.hasRemaining()) {
      channel.write(buf);
    }
    if (regular) {
      expectedSize = channel.size();
    }
  }

  @Override
  public boolean force() throws IOException {
    if (!regular) {
      return false;
    }
    channel.force(false);
    return true;
  }

  @Override
  public void afterFailedWrite() {
    if (channel == null || !regular) {
      return;
    }
    try {
      if (channel.size() > expectedSize) {
        channel.truncate(expectedSize);
      }
    } catch (IOException e) {
      log.warn("audit file {}: could not cut a partly written record ({}); the verifier will report that line",
          path, e.getClass().getSimpleName());
    }
  }

  @Override
  public void close() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        log.warn("audit file {}: close failed ({})", path, e.getClass().getSimpleName());
      }
      channel = null;
    }
  }

  /** The file's last line is not an audit record: not ours, so not appended to. */
  static final class NotAnAuditFile extends IOException {
    NotAnAuditFile(Path path) {
      super(path + " does not end with an audit record: choose a new file");
    }
  }
}
