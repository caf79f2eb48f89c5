package dev.keywarden.names;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
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

  /** True if the normalized {@code uri} is matched by the normalized {@code pattern}. */
  public static boolean matches(String pattern, String uri) {
    int authorityStart = pattern.indexOf("://") + 3;
    int pathStart = pattern.indexOf('/', authorityStart);
    if (pathStart < 0) {
      pathStart = pattern.length();
    }
    StringBuilder re = new StringBuilder();
    appendGlob(re, pattern.substring(0, authorityStart), "");
    appendGlob(re, pattern.substring(authorityStart, pathStart), "[a-z0-9_-]*");
    appendGlob(re, pattern.substring(pathStart), "[^/]*");
    return Pattern.compile(re.toString()).matcher(uri).matches();
  }

  private static void appendGlob(StringBuilder re, String glob, String star) {
    int from = 0;
    for (int i = glob.indexOf('*'); i >= 0; i = glob.indexOf('*', from)) {
      re.append(Pattern.quote(glob.substring(from, i))).append(star);
      from = i + 1;
    }
    if (from < glob.length()) {
      re.append(Pattern.quote(glob.substring(from)));
    }
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
