package dev.keywarden.names;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.net.IDN;
import java.util.regex.Pattern;

/**
 * DNS name syntax and glob matching. Names are compared lower-cased (ASCII only: internationalized labels must be
 * sent in their xn-- form, and a xn-- label must decode). No empty labels, no trailing dot, labels are
 * letters, digits and inner hyphens (no underscores), at most 63 octets, names at most 253; a rightmost label of
 * digits only is refused (that is an IP address, which belongs in an IP SAN). A wildcard is only the whole leftmost
 * label with at least two labels under it.
 */
public final class DnsNames {
  private static final Pattern LDH = Pattern.compile("[a-z0-9](?:[a-z0-9-]*[a-z0-9])?");
  private static final Pattern GLOB_LABEL = Pattern.compile("[a-z0-9*-]+");

  private DnsNames() {}

  /** Validates a name without a wildcard and returns it lower-cased; INVALID_ARGUMENT starts with {@code prefix}. */
  public static String check(String prefix, String name) {
    String lower = DnsNames.lower(name);
    String problem = problem(name, false);
    if (problem != null) {
      throw KeywardenException.invalid(prefix + "'" + Inputs.quoted(name) + "' is not a valid DNS name: " + problem);
    }
    return lower;
  }

  /** Validates a role glob (a '*' matches within one label) and returns it lower-cased. */
  public static String checkGlob(String prefix, String pattern) {
    String lower = DnsNames.lower(pattern);
    String shown = "'" + Inputs.quoted(pattern) + "'";
    if (!isAscii(pattern) || lower.isEmpty() || lower.length() > 253 || lower.endsWith(".")) {
      throw KeywardenException.invalid(prefix + shown + " is not a valid domain glob");
    }
    String[] labels = lower.split("\\.", -1);
    for (String l : labels) {
      if (l.isEmpty() || l.length() > 63 || !GLOB_LABEL.matcher(l).matches()) {
        throw KeywardenException.invalid(prefix + shown
            + " is not a valid domain glob: labels are letters, digits, '-' and '*', none empty");
      }
    }
    if (labels[labels.length - 1].indexOf('*') >= 0 || labels.length < 2) {
      throw KeywardenException.invalid(prefix + shown + " is too broad: the rightmost label of a glob must be literal");
    }
    return lower;
  }

  /**
   * Why {@code name} is not a valid DNS name, or null if it is. With {@code wildcardOk} the leftmost label may be
   * exactly '*'.
   */
  public static String problem(String name, boolean wildcardOk) {
    if (name == null || name.isEmpty()) {
      return "it is empty";
    }
    if (!isAscii(name)) {
      return "it holds non-ASCII characters; send internationalized names in their ASCII (xn--) form";
    }
    String lower = DnsNames.lower(name);
    if (lower.length() > 253) {
      return "it is longer than 253 characters";
    }
    if (lower.endsWith(".")) {
      return "it ends with a dot";
    }
    String[] labels = lower.split("\\.", -1);
    for (int i = 0; i < labels.length; i++) {
      String l = labels[i];
      if (l.isEmpty()) {
        return "it has an empty label";
      }
      if (l.indexOf('*') >= 0) {
        if (i != 0 || !l.equals("*")) {
          return "a wildcard must be the whole leftmost label (as in *.example.com)";
        }
        if (!wildcardOk) {
          return "a wildcard is not allowed here";
        }
        if (labels.length < 3) {
          return "a wildcard needs at least two labels under it";
        }
        continue;
      }
      if (l.length() > 63) {
        return "label '" + Inputs.quoted(l) + "' is longer than 63 characters";
      }
      if (!LDH.matcher(l).matches()) {
        return "label '" + Inputs.quoted(l)
            + "' must be letters, digits and hyphens, not starting or ending with a hyphen";
      }
      if (l.length() >= 4 && l.charAt(2) == '-' && l.charAt(3) == '-') {
        if (!l.startsWith("xn--")) {
          return "label '" + l + "' has '--' in the third and fourth positions, reserved for xn-- labels";
        }
        if (!decodes(l)) {
          return "label '" + l + "' is not valid punycode";
        }
      }
    }
    if (labels[labels.length - 1].chars().allMatch(c -> c >= '0' && c <= '9')) {
      return "its rightmost label is all digits; an IP address belongs in an IP SAN";
    }
    return null;
  }

  /** True if the lower-cased {@code name} is matched by the lower-cased glob {@code pattern}, label by label. */
  public static boolean globMatches(String pattern, String name) {
    String[] p = pattern.split("\\.", -1);
    String[] n = name.split("\\.", -1);
    if (p.length != n.length) {
      return false;
    }
    for (int i = 0; i < p.length; i++) {
      if (n[i].equals("*")) {
        // A wildcard name covers every label, so only a pattern label that also admits every label may match it.
        if (!p[i].equals("*")) {
          return false;
        }
      } else if (!labelMatches(p[i], n[i])) {
        return false;
      }
    }
    return true;
  }

  private static boolean labelMatches(String p, String s) {
    // Classic iterative glob with backtracking to the last '*'; '*' never crosses a label since labels are split.
    int pi = 0;
    int si = 0;
    int star = -1;
    int mark = 0;
    while (si < s.length()) {
      if (pi < p.length() && p.charAt(pi) == '*') {
        star = pi++;
        mark = si;
      } else if (pi < p.length() && p.charAt(pi) == s.charAt(si)) {
        pi++;
        si++;
      } else if (star >= 0) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    }
    while (pi < p.length() && p.charAt(pi) == '*') {
      pi++;
    }
    return pi == p.length();
  }

  private static boolean decodes(String label) {
    try {
      String u = IDN.toUnicode(label, 0);
      return !u.equals(label) && DnsNames.lower(IDN.toASCII(u, 0)).equals(label);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  public static boolean isAscii(String s) {
    return s.chars().allMatch(c -> c > 0x20 && c < 0x7f);
  }

  /** Lower case as names compare (ASCII rules, whatever the JVM's locale). */
  public static String lower(String s) {
    return s.toLowerCase(java.util.Locale.ROOT);
  }
}
