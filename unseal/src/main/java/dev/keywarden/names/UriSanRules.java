package dev.keywarden.names;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * URI SAN syntax and glob matching. A URI SAN must be {@code scheme://host[:port][/path]}: no user info, query or
 * fragment, ASCII only, no empty, "." or ".." path segments and no encoded '/'. Scheme and host compare
 * case-insensitively, the path exactly. SPIFFE IDs ({@code spiffe://}) also take no port and only
 * {@code [A-Za-z0-9._-]} in path segments, as the SPIFFE ID spec says. In a role's pattern a '*' matches within one
 * host label (never a '.' or ':') or within one path segment (never a '/').
 */
public final class UriSanRules {
  private static final Pattern SCHEME = Pattern.compile("[a-z][a-z0-9+.-]*");
  private static final Pattern HOST = Pattern.compile("[a-z0-9_-]+(?:\\.[a-z0-9_-]+)*");
  private static final Pattern PORT = Pattern.compile("[1-9][0-9]{0,4}");
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9\\-._~!$&'()*+,;=:@%]+");
  private static final Pattern SPIFFE_SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");

  private UriSanRules() {}

  /** The URI in the form patterns are matched against (scheme and host lower-cased), or throws with the reason. */
  public static String normalize(String prefix, String uri) {
    String problem = problem(uri, false);
    if (problem != null) {
      throw KeywardenException.invalid(prefix + problem);
    }
    return lowerSchemeAndHost(uri);
  }

  /** Validates a role pattern: with each '*' read as a letter, it must be a valid URI SAN, '*' not in the scheme. */
  public static String checkPattern(String prefix, String pattern) {
    String problem = problem(pattern, true);
    if (problem != null) {
      throw KeywardenException.invalid(prefix + "'" + Inputs.quoted(pattern) + "' is not a valid URI SAN pattern: "
          + problem);
    }
    return lowerSchemeAndHost(pattern);
  }

  /**
   * True if the normalized {@code uri} is matched by the normalized {@code pattern}. A '*' in the host matches
   * {@code [a-z0-9_-]*}, in the path {@code [^/]*} (in the scheme, nothing). Matched by stepping the set of pattern
   * positions through the URI once (at most pattern × URI steps, no allocation but two arrays): a regular expression
   * built from the pattern backtracked exponentially on a pattern with many '*' in one segment and a URI that almost
   * matches it (a role's pattern and a caller's CSR; found by {@code NameRulesFuzzTest}).
   */
  public static boolean matches(String pattern, String uri) {
    int authorityStart = pattern.indexOf("://") + 3;
    int pathStart = pattern.indexOf('/', authorityStart);
    if (pathStart < 0) {
      pathStart = pattern.length();
    }
    int m = pattern.length();
    boolean[] now = new boolean[m + 1];
    boolean[] next = new boolean[m + 1];
    now[0] = true;
    skipStars(pattern, now);
    for (int i = 0; i < uri.length(); i++) {
      char c = uri.charAt(i);
      boolean any = false;
      Arrays.fill(next, false);
      for (int p = 0; p < m; p++) {
        if (!now[p]) {
          continue;
        }
        char t = pattern.charAt(p);
        if (t == '*') {
          if (p >= authorityStart && (p < pathStart ? isHostStarChar(c) : c != '/')) {
            next[p] = true; // the star takes c and may take more
            any = true;
          }
        } else if (t == c) {
          next[p + 1] = true;
          any = true;
        }
      }
      if (!any) {
        return false;
      }
      skipStars(pattern, next);
      boolean[] swap = now;
      now = next;
      next = swap;
    }
    return now[m];
  }

  /** Adds to {@code at} the positions reached by letting stars match nothing (left to right, so runs of them too). */
  private static void skipStars(String pattern, boolean[] at) {
    for (int p = 0; p < pattern.length(); p++) {
      if (at[p] && pattern.charAt(p) == '*') {
        at[p + 1] = true;
      }
    }
  }

  private static boolean isHostStarChar(char c) {
    return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-';
  }

  private static String problem(String uri, boolean isPattern) {
    if (uri == null || uri.isEmpty()) {
      return "it is empty";
    }
    if (uri.length() > 2048) {
      return "it is longer than 2048 characters";
    }
    if (!DnsNames.isAscii(uri)) {
      return "it holds spaces, control or non-ASCII characters";
    }
    int sep = uri.indexOf("://");
    if (sep <= 0) {
      return "it is not of the form scheme://host/path";
    }
    String scheme = DnsNames.lower(uri.substring(0, sep));
    if (!SCHEME.matcher(scheme).matches()) {
      return "the scheme '" + Inputs.quoted(scheme) + "' is not valid";
    }
    if (uri.indexOf('?') >= 0 || uri.indexOf('#') >= 0) {
      return "a URI SAN here takes no query or fragment";
    }
    String rest = uri.substring(sep + 3);
    int slash = rest.indexOf('/');
    String authority = slash < 0 ? rest : rest.substring(0, slash);
    String path = slash < 0 ? "" : rest.substring(slash);
    if (authority.indexOf('@') >= 0) {
      return "a URI SAN here takes no user info";
    }
    int colon = authority.indexOf(':');
    String host = DnsNames.lower(colon < 0 ? authority : authority.substring(0, colon));
    String hostChecked = isPattern ? host.replace('*', 'x') : host;
    if (!HOST.matcher(hostChecked).matches()) {
      return "the host '" + Inputs.quoted(host) + "' is not a DNS name";
    }
    boolean spiffe = scheme.equals("spiffe");
    if (colon >= 0) {
      if (spiffe) {
        return "a SPIFFE ID takes no port";
      }
      String port = authority.substring(colon + 1);
      if (!PORT.matcher(port).matches() || Integer.parseInt(port) > 65535) {
        return "the port '" + Inputs.quoted(port) + "' is not valid";
      }
    }
    if (path.isEmpty() || path.equals("/")) {
      return spiffe && path.equals("/") ? "a SPIFFE ID has no trailing '/'" : null;
    }
    String[] segments = path.substring(1).split("/", -1);
    for (String s : segments) {
      if (s.isEmpty()) {
        return "the path has an empty segment";
      }
      if (s.equals(".") || s.equals("..")) {
        return "the path has a '.' or '..' segment";
      }
      if (DnsNames.lower(s).contains("%2f")) {
        return "the path has an encoded '/'";
      }
      if (!(spiffe ? SPIFFE_SEGMENT : SEGMENT).matcher(isPattern ? s.replace('*', 'x') : s).matches()) {
        return spiffe ? "a SPIFFE ID path segment is letters, digits, '.', '_' and '-'"
            : "the path segment '" + Inputs.quoted(s) + "' has characters a URI may not hold";
      }
    }
    return null;
  }

  private static String lowerSchemeAndHost(String uri) {
    int sep = uri.indexOf("://") + 3;
    int slash = uri.indexOf('/', sep);
    int end = slash < 0 ? uri.length() : slash;
    return DnsNames.lower(uri.substring(0, end)) + uri.substring(end);
  }
}
