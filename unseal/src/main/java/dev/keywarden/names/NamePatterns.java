package dev.keywarden.names;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;

/**
 * The glob rules of PKI roles, for every engine that matches names (cert auth roles, SSH host roles): DNS globs where a
 * '*' matches within one label, and URI SAN globs where a '*' matches within one host label or path segment.
 */
public final class NamePatterns {
  private NamePatterns() {}

  /** Validates a DNS-name glob; returns it lower-cased. INVALID_ARGUMENT starts with {@code prefix}. */
  public static String dnsGlob(String prefix, String pattern) {
    return DnsNames.checkGlob(prefix, pattern);
  }

  /** True if {@code name} (any case) is a DNS name matched by the lower-cased glob, label by label. */
  public static boolean dnsMatches(String glob, String name) {
    return name != null && DnsNames.problem(name, true) == null && DnsNames.globMatches(glob, DnsNames.lower(name));
  }

  /**
   * Validates a glob over free-form names (a subject common name): printable ASCII, at most 64 characters, '*'
   * matching within one dot-separated label. Returns it lower-cased.
   */
  public static String labelGlob(String prefix, String pattern) {
    if (pattern == null || pattern.isEmpty() || pattern.length() > 64 || !DnsNames.isAscii(pattern)
        || pattern.startsWith(".") || pattern.endsWith(".") || pattern.contains("..")) {
      throw KeywardenException.invalid(prefix + "'" + Inputs.quoted(String.valueOf(pattern))
          + "' is not a valid name glob: 1 to 64 printable ASCII characters, no empty label");
    }
    return DnsNames.lower(pattern);
  }

  /** True if {@code name} (compared lower-cased) is matched by a {@link #labelGlob}, label by label. */
  public static boolean labelMatches(String glob, String name) {
    return name != null && !name.isEmpty() && DnsNames.globMatches(glob, DnsNames.lower(name));
  }

  /** Validates a URI SAN glob; returns it with scheme and host lower-cased. */
  public static String uriGlob(String prefix, String pattern) {
    return UriSanRules.checkPattern(prefix, pattern);
  }

  /** True if {@code uri} is a valid URI SAN matched by the normalized glob. */
  public static boolean uriMatches(String glob, String uri) {
    String normalized;
    try {
      normalized = UriSanRules.normalize("", uri);
    } catch (KeywardenException notAUriSan) {
      return false;
    }
    return UriSanRules.matches(glob, normalized);
  }
}
