package dev.keywarden.pki;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.Cidr;
import dev.keywarden.names.DnsNames;
import dev.keywarden.names.UriSanRules;
import dev.keywarden.names.IpLiterals;
import java.net.InetAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Decides whether a role allows a name. A refusal is INVALID_ARGUMENT, not PERMISSION_DENIED: the caller is
 * authorized to use the role; it is the request that lies outside it, and the same request will always fail, so the
 * client must change its arguments. The message names the name, the role and the rule that refused it.
 *
 * <p>DNS names (syntax in {@link DnsNames}), compared case-insensitively against allowed_domains:
 * <ul>
 *   <li>{@code localhost} is allowed when allow_localhost is on (or when allowed_domains allows it).
 *   <li>a name equal to a literal allowed domain needs allow_bare_domains;
 *   <li>a name ending in "." + a literal allowed domain (any depth) needs allow_subdomains;
 *   <li>a glob allowed domain (only with allow_glob_domains) matches a name with the same number of labels where
 *       each '*' matches within one label, never across a '.'. Vault's glob matches any characters; this is stricter.
 *   <li>a wildcard name {@code *.B} needs allow_wildcard, and then either allow_subdomains with B equal to or under a
 *       literal allowed domain (as Vault), or a glob whose leftmost label is exactly '*' and which matches it.
 *       {@code *.*.example.com}, {@code a*.example.com} and {@code *.com} are never accepted.
 * </ul>
 * IP SANs need allow_ip_sans and, when allowed_ip_cidrs is set, an address inside one of them (IPv4 CIDRs hold
 * only IPv4 addresses, IPv6 only IPv6). IPv4-mapped IPv6 addresses and the unspecified address are refused.
 * URI SANs must match a glob in allowed_uri_sans (syntax and '*' in {@link UriSanRules}). A request with a SPIFFE ID
 * asks for an X509-SVID: it may carry no other URI SAN.
 */
public final class NameRules {
  /** More names than this in one request is refused; a short-lived mTLS certificate needs few. */
  public static final int MAX_NAMES = 100;

  private NameRules() {}

  /** Checks every requested name; returns them normalized (DNS names lower-cased, duplicates dropped). */
  public static RequestedNames check(Role role, RequestedNames names) {
    if (names.count() > MAX_NAMES) {
      throw KeywardenException.invalid("the request has " + names.count() + " names; role '" + role.name()
          + "' issues at most " + MAX_NAMES);
    }
    Optional<String> cn = names.commonName();
    if (cn.isPresent()) {
      cn = Optional.of(checkCommonName(role, cn.get()));
    }
    LinkedHashSet<String> dns = new LinkedHashSet<>();
    for (String d : names.dnsNames()) {
      dns.add(checkDnsSan(role, d));
    }
    LinkedHashSet<InetAddress> ips = new LinkedHashSet<>();
    for (InetAddress a : names.ipAddresses()) {
      checkIpSan(role, a);
      ips.add(a);
    }
    LinkedHashSet<URI> uris = new LinkedHashSet<>();
    for (URI u : names.uris()) {
      uris.add(URI.create(checkUriSan(role, u)));
    }
    checkSvidUris(role, uris);
    return new RequestedNames(cn, new ArrayList<>(dns), new ArrayList<>(ips), new ArrayList<>(uris));
  }

  /**
   * Checks a subject CN: an IP literal is checked as an IP SAN, anything else as a DNS name. Returns the CN as it
   * goes in the certificate (DNS names lower-cased).
   */
  public static String checkCommonName(Role role, String cn) {
    if (cn == null || cn.isEmpty()) {
      throw refused(role, String.valueOf(cn), "a common name may not be empty");
    }
    if (cn.length() > 64) {
      throw refused(role, cn, "a common name is at most 64 characters; put a longer name in a DNS SAN");
    }
    InetAddress ip = IpLiterals.parse(cn);
    if (ip != null) {
      checkIpSan(role, ip);
      return cn;
    }
    return checkDnsSan(role, cn);
  }

  /** Checks a DNS SAN (or DNS-name CN); returns it lower-cased. */
  public static String checkDnsSan(Role role, String name) {
    String problem = DnsNames.problem(name, true);
    if (problem != null) {
      throw refused(role, String.valueOf(name), "not a valid DNS name: " + problem);
    }
    String n = Role.lower(name);
    if (n.equals("localhost") && role.allowLocalhost()) {
      return n;
    }
    boolean wildcard = n.startsWith("*.");
    if (wildcard && !role.allowWildcard()) {
      throw refused(role, name, "allow_wildcard is off");
    }
    String base = wildcard ? n.substring(2) : n;
    String specific = null;
    for (String d : role.allowedDomains()) {
      if (d.indexOf('*') >= 0) {
        if (DnsNames.globMatches(d, n)) {
          return n;
        }
        continue;
      }
      if (wildcard) {
        // *.B covers every name one label under B, so it is a subdomain grant whether B is the domain or under it.
        if (base.equals(d) || base.endsWith("." + d)) {
          if (role.allowSubdomains()) {
            return n;
          }
          specific = "a wildcard under '" + d + "' needs allow_subdomains, which is off";
        }
      } else if (n.equals(d)) {
        if (role.allowBareDomains()) {
          return n;
        }
        specific = "it is the bare domain '" + d + "' and allow_bare_domains is off";
      } else if (n.endsWith("." + d)) {
        if (role.allowSubdomains()) {
          return n;
        }
        specific = "it is a subdomain of '" + d + "' and allow_subdomains is off";
      }
    }
    if (specific != null) {
      throw refused(role, name, specific);
    }
    if (n.equals("localhost")) {
      throw refused(role, name, "allow_localhost is off");
    }
    if (role.allowedDomains().isEmpty()) {
      throw refused(role, name, "allowed_domains is empty");
    }
    throw refused(role, name, "not within allowed_domains " + role.domainsShown() + " (allow_bare_domains is "
        + onOff(role.allowBareDomains()) + ", allow_subdomains is " + onOff(role.allowSubdomains())
        + ", allow_glob_domains is " + onOff(role.allowGlobDomains()) + ")");
  }

  /** Checks an IP SAN (or IP CN). */
  public static void checkIpSan(Role role, InetAddress address) {
    String shown = IpLiterals.text(address);
    if (!role.allowIpSans()) {
      throw refused(role, shown, "allow_ip_sans is off");
    }
    if (IpLiterals.isIpv4MappedIpv6(address)) {
      throw refused(role, shown, "an IPv4-mapped IPv6 address is refused; request the IPv4 address");
    }
    if (address.isAnyLocalAddress()) {
      throw refused(role, shown, "the unspecified address names no host");
    }
    if (role.allowedIpCidrs().isEmpty()) {
      return;
    }
    for (String c : role.allowedIpCidrs()) {
      if (Cidr.parse("", c).contains(address)) {
        return;
      }
    }
    throw refused(role, shown, "not within allowed_ip_cidrs " + role.allowedIpCidrs());
  }

  /** Checks a URI SAN; returns it with scheme and host lower-cased. */
  public static String checkUriSan(Role role, URI uri) {
    String text = uri.toString();
    String normalized = UriSanRules.normalize(prefix(role, text) + "not a valid URI SAN: ", text);
    for (String pattern : role.allowedUriSans()) {
      if (UriSanRules.matches(pattern, normalized)) {
        return normalized;
      }
    }
    if (role.allowedUriSans().isEmpty()) {
      throw refused(role, text, "allowed_uri_sans is empty");
    }
    throw refused(role, text, "not matched by allowed_uri_sans " + role.allowedUriSans()
        + " ('*' matches within one host label or path segment)");
  }

  /**
   * A certificate with a SPIFFE ID is an X509-SVID, which carries exactly one URI SAN (the SPIFFE X509-SVID spec,
   * section 2): verifiers take "the" URI SAN as the workload's identity, so a second one (another SPIFFE ID, or any
   * other URI) would be an identity the role never meant to grant. {@code uris} are normalized and deduplicated.
   */
  static void checkSvidUris(Role role, Collection<URI> uris) {
    if (uris.size() < 2 || uris.stream().noneMatch(u -> "spiffe".equals(u.getScheme()))) {
      return;
    }
    String listed = uris.stream().map(u -> "'" + Inputs.quoted(u.toString()) + "'").limit(4)
        .collect(Collectors.joining(", "));
    throw KeywardenException.invalid("role '" + role.name() + "': the request has " + uris.size() + " URI SANs ("
        + listed + (uris.size() > 4 ? ", …" : "") + "), but an X509-SVID carries exactly one SPIFFE ID and no other"
        + " URI SAN: ask for one certificate per SPIFFE ID");
  }

  private static KeywardenException refused(Role role, String name, String rule) {
    return KeywardenException.invalid(prefix(role, name) + rule);
  }

  private static String prefix(Role role, String name) {
    return "'" + Inputs.quoted(name) + "' is not allowed by role '" + role.name() + "': ";
  }

  private static String onOff(boolean b) {
    return b ? "on" : "off";
  }

  static String joined(List<String> list) {
    return list.stream().collect(Collectors.joining(", ", "[", "]"));
  }
}
