package dev.keywarden.names;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;
import org.bouncycastle.util.IPAddress;

/** Strict IP literal parsing that never touches DNS: dotted-quad IPv4 without leading zeros, or IPv6 text. */
public final class IpLiterals {
  private static final Pattern OCTET = Pattern.compile("0|[1-9][0-9]{0,2}");

  private IpLiterals() {}

  /** The address written in {@code text}, or null if it is not an IP literal. IPv6 text always gives IPv6. */
  public static InetAddress parse(String text) {
    if (text == null || text.isEmpty() || text.length() > 45) {
      return null;
    }
    if (text.indexOf(':') < 0) {
      String[] parts = text.split("\\.", -1);
      if (parts.length != 4) {
        return null;
      }
      byte[] b = new byte[4];
      for (int i = 0; i < 4; i++) {
        if (!OCTET.matcher(parts[i]).matches() || Integer.parseInt(parts[i]) > 255) {
          return null;
        }
        b[i] = (byte) Integer.parseInt(parts[i]);
      }
      return of(b);
    }
    if (text.indexOf('%') >= 0 || !IPAddress.isValidIPv6(text)) {
      return null;
    }
    try {
      InetAddress a = InetAddress.getByName(text); // a valid literal: no lookup happens
      return of(a.getAddress().length == 4 ? mapped(a.getAddress()) : a.getAddress());
    } catch (UnknownHostException e) {
      return null;
    }
  }

  /** An address from 4 or 16 octets, keeping the family the octets have (IPv4-mapped IPv6 stays IPv6). */
  public static InetAddress of(byte[] octets) {
    try {
      if (octets.length == 4) {
        return InetAddress.getByAddress(octets);
      }
      if (octets.length == 16) {
        return Inet6Address.getByAddress(null, octets, -1);
      }
    } catch (UnknownHostException e) {
      // unreachable for 4 or 16 octets
    }
    throw new IllegalArgumentException("an IP address has 4 or 16 octets");
  }

  /** The text of an address as users read it, with no host name. */
  public static String text(InetAddress a) {
    String s = a.getHostAddress();
    int pct = s.indexOf('%');
    return pct >= 0 ? s.substring(0, pct) : s;
  }

  public static boolean isIpv4MappedIpv6(InetAddress a) {
    byte[] b = a.getAddress();
    if (!(a instanceof Inet6Address) || b.length != 16) {
      return false;
    }
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
  }

  public static boolean isIpv4(InetAddress a) {
    return a instanceof Inet4Address;
  }

  private static byte[] mapped(byte[] v4) {
    byte[] b = new byte[16];
    b[10] = (byte) 0xff;
    b[11] = (byte) 0xff;
    System.arraycopy(v4, 0, b, 12, 4);
    return b;
  }
}
