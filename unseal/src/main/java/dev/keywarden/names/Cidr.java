package dev.keywarden.names;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.net.InetAddress;
import java.util.Arrays;

/** An IPv4 or IPv6 network in CIDR form; an address of the other family is never inside it. */
public record Cidr(byte[] network, int prefix, String text) {

  /** Parses "10.0.0.0/8" or "2001:db8::/32"; host bits must be zero. INVALID_ARGUMENT starts with {@code where}. */
  public static Cidr parse(String where, String text) {
    String shown = "'" + Inputs.quoted(text) + "'";
    int slash = text.indexOf('/');
    InetAddress a = slash < 0 ? null : IpLiterals.parse(text.substring(0, slash));
    String bits = slash < 0 ? "" : text.substring(slash + 1);
    if (a == null || !bits.matches("0|[1-9][0-9]{0,2}")) {
      throw KeywardenException.invalid(where + shown + " is not a CIDR like 10.0.0.0/8 or 2001:db8::/32");
    }
    byte[] net = a.getAddress();
    int prefix = Integer.parseInt(bits);
    if (prefix > net.length * 8) {
      throw KeywardenException.invalid(where + shown + ": the prefix is longer than the address");
    }
    if (!Arrays.equals(net, masked(net, prefix))) {
      throw KeywardenException.invalid(where + shown + " has host bits set; did you mean "
          + IpLiterals.text(IpLiterals.of(masked(net, prefix))) + "/" + prefix + "?");
    }
    return new Cidr(net, prefix, text);
  }

  /** True if {@code a} is of this network's family and inside it. */
  public boolean contains(InetAddress a) {
    byte[] b = a.getAddress();
    return b.length == network.length && Arrays.equals(masked(b, prefix), network);
  }

  private static byte[] masked(byte[] b, int prefix) {
    byte[] out = b.clone();
    for (int i = 0; i < out.length; i++) {
      int keep = Math.max(0, Math.min(8, prefix - i * 8));
      out[i] &= (byte) (0xff << (8 - keep));
    }
    return out;
  }
}
