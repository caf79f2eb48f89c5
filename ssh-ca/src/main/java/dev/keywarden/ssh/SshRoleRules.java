package dev.keywarden.ssh;

import dev.keywarden.encoding.DurationText;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.DnsNames;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Decides what goes in a certificate from a role, the caller's identity and the request; refuses (INVALID_ARGUMENT)
 * anything outside the role, naming the field and the rule. The caller may use the role: it is the request that lies
 * outside it, and the same request always fails, so INVALID_ARGUMENT rather than PERMISSION_DENIED.
 */
final class SshRoleRules {
  static final int MAX_PRINCIPALS = 256;

  private SshRoleRules() {}

  /** What the rules decided; times are epoch seconds. */
  record Decided(List<String> principals, long validAfter, long validBefore, TreeMap<String, String> extensions,
      TreeMap<String, String> criticalOptions) {}

  static Decided decide(SshRole role, SshIdentity caller, List<String> principals, Optional<Duration> ttl,
      Map<String, String> extensions, Map<String, String> criticalOptions, Instant now) {
    List<String> p = principals(role, caller, principals);
    Duration lifetime = ttl(role, ttl);
    long validAfter = Math.max(0, now.minus(role.notBeforeDuration()).getEpochSecond());
    long validBefore = now.plus(lifetime).getEpochSecond();
    return new Decided(p, validAfter, validBefore, extensions(role, extensions), criticalOptions(role,
        criticalOptions));
  }

  /** The requested principals (or the role's defaults), each allowed by the role; never empty unless allowed. */
  static List<String> principals(SshRole role, SshIdentity caller, List<String> requested) {
    Map<String, String> values = Templates.identityValues(caller);
    List<String> wanted = new ArrayList<>();
    boolean defaulted = requested == null || requested.isEmpty();
    if (defaulted) {
      for (String d : role.defaultPrincipals()) {
        Templates.expand(d, values).ifPresent(wanted::add); // a default naming missing metadata is skipped
      }
    } else {
      if (requested.size() > MAX_PRINCIPALS) {
        throw KeywardenException.invalid("principals: " + requested.size() + " given; at most " + MAX_PRINCIPALS);
      }
      wanted.addAll(requested);
    }
    if (wanted.isEmpty()) {
      if (role.allowAnyPrincipal()) {
        return List.of();
      }
      throw KeywardenException.invalid("principals: none given" + (defaulted && !role.defaultPrincipals().isEmpty()
          ? " and role '" + role.name() + "''s default_principals name none for this caller"
          : " and role '" + role.name() + "' has no default_principals")
          + "; an empty list would let the certificate in as any principal, which the role does not allow"
          + " (allow_any_principal)");
    }
    LinkedHashSet<String> out = new LinkedHashSet<>();
    for (String w : wanted) {
      out.add(role.certType() == CertType.USER ? userPrincipal(role, values, w) : hostPrincipal(role, w));
    }
    return List.copyOf(out);
  }

  private static String userPrincipal(SshRole role, Map<String, String> values, String p) {
    checkSyntax(role, p);
    for (String pattern : role.allowedPrincipals()) {
      if (Templates.matches(pattern, values, p)) {
        return p;
      }
    }
    throw refused(role, p, role.allowedPrincipals().isEmpty() ? "allowed_principals is empty"
        : "not matched by allowed_principals " + role.allowedPrincipals() + " for this caller");
  }

  private static void checkSyntax(SshRole role, String p) {
    if (p == null || p.isEmpty() || p.length() > SshRole.MAX_PRINCIPAL
        || !p.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != ',' && c != '*' && c != '?')) {
      throw refused(role, String.valueOf(p), "a principal is 1 to " + SshRole.MAX_PRINCIPAL
          + " printable ASCII characters without spaces, commas, '*' or '?'");
    }
  }

  /** A host principal: a DNS name within allowed_domains, by the PKI roles' bare/subdomain/glob rules. */
  private static String hostPrincipal(SshRole role, String name) {
    String problem = DnsNames.problem(name, false);
    if (problem != null) {
      throw refused(role, String.valueOf(name), "not a valid DNS name: " + problem);
    }
    String n = DnsNames.lower(name);
    String specific = null;
    for (String d : role.allowedDomains()) {
      if (d.indexOf('*') >= 0) {
        if (DnsNames.globMatches(d, n)) {
          return n;
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
    if (role.allowedDomains().isEmpty()) {
      throw refused(role, name, "allowed_domains is empty");
    }
    throw refused(role, name, "not within allowed_domains " + role.allowedDomains() + " (allow_bare_domains is "
        + onOff(role.allowBareDomains()) + ", allow_subdomains is " + onOff(role.allowSubdomains())
        + ", allow_glob_domains is " + onOff(role.allowGlobDomains()) + ")");
  }

  /** The requested ttl or the role's; above max_ttl is refused with the limit named. */
  static Duration ttl(SshRole role, Optional<Duration> requested) {
    if (requested == null || requested.isEmpty()) {
      return role.ttl();
    }
    Duration d = requested.get();
    if (d.isNegative() || d.isZero() || d.getSeconds() == 0) {
      throw KeywardenException.invalid("ttl: must be at least 1s");
    }
    if (d.compareTo(role.maxTtl()) > 0) {
      throw KeywardenException.invalid("ttl: " + DurationText.format(d) + " is above role '" + role.name()
          + "''s max_ttl of " + DurationText.format(role.maxTtl()));
    }
    return Duration.ofSeconds(d.getSeconds());
  }

  /** The requested extensions, each in allowed_extensions; none requested: the role's defaults. */
  static TreeMap<String, String> extensions(SshRole role, Map<String, String> requested) {
    if (requested == null || requested.isEmpty()) {
      return new TreeMap<>(role.defaultExtensions());
    }
    TreeMap<String, String> out = CertOptions.extensions("extensions: ", requested);
    for (String name : out.keySet()) {
      if (!role.allowedExtensions().contains(name)) {
        throw KeywardenException.invalid("extensions: '" + Inputs.quoted(name) + "' is not allowed by role '"
            + role.name() + "': allowed_extensions is " + role.allowedExtensions());
      }
    }
    return out;
  }

  /** The role's default critical options, with the requested ones (each in allowed_critical_options) set over them. */
  static TreeMap<String, String> criticalOptions(SshRole role, Map<String, String> requested) {
    TreeMap<String, String> out = new TreeMap<>(role.defaultCriticalOptions());
    if (requested == null || requested.isEmpty()) {
      return out;
    }
    TreeMap<String, String> asked = CertOptions.options("critical_options: ", requested);
    for (Map.Entry<String, String> e : asked.entrySet()) {
      if (!role.allowedCriticalOptions().contains(e.getKey())) {
        throw KeywardenException.invalid("critical_options: '" + e.getKey() + "' is not allowed by role '"
            + role.name() + "': allowed_critical_options is " + role.allowedCriticalOptions());
      }
      out.put(e.getKey(), e.getValue());
    }
    return out;
  }

  /** The key id: the request's (only with allow_user_key_ids) or the role's template filled in. */
  static String keyId(SshRole role, SshIdentity caller, Optional<String> requested, String caName, String serial) {
    if (requested != null && requested.isPresent() && !requested.get().isEmpty()) {
      if (!role.allowUserKeyIds()) {
        throw KeywardenException.invalid("key_id: role '" + role.name() + "' sets the key id from its template;"
            + " a request may choose one only when allow_user_key_ids is on");
      }
      return checkKeyId("key_id: ", requested.get());
    }
    Map<String, String> values = new java.util.HashMap<>(Templates.identityValues(caller));
    values.put("role", role.name());
    values.put("ca", caName);
    values.put("serial", serial);
    values.putIfAbsent("identity", "");
    String id = Templates.expand(role.keyIdTemplate(), values).orElseThrow(() -> KeywardenException.invalid(
        "key_id_template of role '" + role.name() + "' (" + Inputs.quoted(role.keyIdTemplate())
            + ") names metadata this caller's identity does not have"));
    return checkKeyId("key_id (from role '" + role.name() + "''s key_id_template): ", id);
  }

  private static boolean hasControl(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        return true;
      }
    }
    return false;
  }

  /**
   * A key ID: 1 to 1024 characters, no control characters, and whole Unicode (no unpaired surrogate: it has no UTF-8
   * form, so two different key IDs would share the bytes that the certificate, the KRL and the key ID index hold).
   */
  static String checkKeyId(String where, String id) {
    if (id.isEmpty() || id.length() > 1024 || hasControl(id) || !Inputs.wellFormedUnicode(id)) {
      throw KeywardenException.invalid(where + "'" + Inputs.quoted(id) + "': 1 to 1024 characters, no control"
          + " characters, no unpaired surrogates");
    }
    return id;
  }

  private static KeywardenException refused(SshRole role, String principal, String rule) {
    return KeywardenException.invalid("principals: '" + Inputs.quoted(principal) + "' is not allowed by role '"
        + role.name() + "': " + rule);
  }

  private static String onOff(boolean b) {
    return b ? "on" : "off";
  }
}
