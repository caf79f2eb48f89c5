package dev.keywarden.audit;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** The socket device's address syntax: {@code tcp:HOST:PORT} (HOST may be [v6]) or {@code unix:/ABSOLUTE/PATH}. */
final class SocketAddresses {
  private SocketAddresses() {}

  /** Checks and resolves lazily (an unresolved TCP address is resolved at each connect). */
  static SocketAddress parse(String address) {
    if (address == null || address.isEmpty()) {
      throw KeywardenException.invalid("a socket audit device needs an address: tcp:HOST:PORT or unix:/PATH");
    }
    Inputs.maxChars("the audit socket address", address, 1024);
    if (address.startsWith("unix:")) {
      String p = address.substring("unix:".length());
      try {
        if (!Path.of(p).isAbsolute()) {
          throw bad(address);
        }
        return UnixDomainSocketAddress.of(p);
      } catch (InvalidPathException e) {
        throw bad(address);
      }
    }
    if (address.startsWith("tcp:")) {
      String hostPort = address.substring("tcp:".length());
      int colon = hostPort.lastIndexOf(':');
      if (colon <= 0) {
        throw bad(address);
      }
      String host = hostPort.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(hostPort.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw bad(address);
      }
      if (port < 1 || port > 65535 || host.isEmpty()) {
        throw bad(address);
      }
      return InetSocketAddress.createUnresolved(host, port);
    }
    throw bad(address);
  }

  private static KeywardenException bad(String address) {
    return KeywardenException.invalid("the audit socket address is tcp:HOST:PORT or unix:/ABSOLUTE/PATH, got '"
        + Inputs.quoted(address) + "'");
  }
}
