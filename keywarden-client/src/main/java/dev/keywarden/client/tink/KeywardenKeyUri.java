package dev.keywarden.client.tink;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A transit key's URI, {@code keywarden://HOST:PORT/transit/keys/NAME}: the server's address as the client dials it
 * (a host name, an IPv4 address or a bracketed IPv6 address, and a port) and the key's name.
 *
 * @param address HOST:PORT, the host in lower case
 * @param keyName the transit key's name
 */
public record KeywardenKeyUri(String address, String keyName) {
  /** The scheme and separator every Keywarden key URI starts with. */
  public static final String PREFIX = "keywarden://";
  private static final String PATH = "/transit/keys/";
  // The server's rule for key names: 1..128 of A-Z a-z 0-9 . _ -, not "." or "..".
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]");

  /** Parses a key URI; IllegalArgumentException saying what is wrong. */
  public static KeywardenKeyUri parse(String uri) {
    if (uri == null || !uri.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
      throw invalid(uri, "it does not start with " + PREFIX);
    }
    String rest = uri.substring(PREFIX.length());
    int slash = rest.indexOf('/');
    if (slash < 0) {
      throw invalid(uri, "it has no path " + PATH + "NAME");
    }
    String authority = rest.substring(0, slash);
    String path = rest.substring(slash);
    int colon = authority.lastIndexOf(':');
    if (colon < 0 || authority.endsWith("]")) {
      throw invalid(uri, "HOST:PORT has no port");
    }
    String host = authority.substring(0, colon);
    String port = authority.substring(colon + 1);
    if (!HOST.matcher(host).matches()) {
      throw invalid(uri, "the host is not a host name or an IP address (IPv6 in brackets)");
    }
    if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) == 0 || Integer.parseInt(port) > 65535) {
      throw invalid(uri, "the port is not 1..65535");
    }
    if (!path.startsWith(PATH)) {
      throw invalid(uri, "the path is not " + PATH + "NAME");
    }
    String name = path.substring(PATH.length());
    if (!NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
      throw invalid(uri, "the key name is not 1..128 of A-Z a-z 0-9 . _ - (nor '.' or '..'), with nothing after it");
    }
    return new KeywardenKeyUri(host.toLowerCase(Locale.ROOT) + ":" + port, name);
  }

  /** The URI of key {@code keyName} on the server at {@code address} (HOST:PORT). */
  public static KeywardenKeyUri of(String address, String keyName) {
    return parse(PREFIX + address + PATH + keyName);
  }

  /** The URI in its canonical form. */
  @Override
  public String toString() {
    return PREFIX + address + PATH + keyName;
  }

  private static IllegalArgumentException invalid(String uri, String why) {
    String shown = uri == null ? "null" : uri.length() > 200 ? uri.substring(0, 200) + "…" : uri;
    return new IllegalArgumentException("not a Keywarden key URI (" + PREFIX + "HOST:PORT" + PATH + "NAME): '" + shown
        + "': " + why);
  }
}
