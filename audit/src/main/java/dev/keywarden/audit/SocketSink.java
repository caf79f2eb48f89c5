package dev.keywarden.audit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/**
 * A connection to a collector (TCP or a Unix domain socket) that takes JSON lines. Writes block while the peer does
 * not read; a failed write drops the connection, and the next write connects again.
 */
final class SocketSink implements Sink {
  private final SocketAddress address;
  private final int connectTimeoutMillis;
  private volatile SocketChannel channel;

  SocketSink(String address, Duration connectTimeout) {
    this.address = SocketAddresses.parse(address);
    this.connectTimeoutMillis = (int) Math.max(1, connectTimeout.toMillis());
  }

  @Override
  public Opened open() throws IOException {
    close();
    SocketChannel ch;
    if (address instanceof UnixDomainSocketAddress unix) {
      ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      try {
        ch.connect(unix);
      } catch (IOException e) {
        ch.close();
        throw e;
      }
    } else {
      InetSocketAddress unresolved = (InetSocketAddress) address;
      ch = SocketChannel.open();
      try {
        ch.socket().setTcpNoDelay(true);
        ch.socket().connect(new InetSocketAddress(unresolved.getHostString(), unresolved.getPort()),
            connectTimeoutMillis);
      } catch (IOException e) {
        ch.close();
        throw e;
      }
    }
    channel = ch;
    return new Opened(null, "");
  }

  @Override
  public boolean isOpen() {
    return channel != null;
  }

  @Override
  public boolean truncatedBehind() {
    return false;
  }

  @Override
  public void write(byte[] bytes, int length) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(bytes, 0, length);
    while (buf.hasRemaining()) {
      channel.write(buf);
    }
  }

  @Override
  public boolean force() {
    return false;
  }

  @Override
  public void afterFailedWrite() {
    close();
  }

  @Override
  public void close() {
    SocketChannel ch = channel;
    channel = null;
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // closing a broken connection
      }
    }
  }
}
