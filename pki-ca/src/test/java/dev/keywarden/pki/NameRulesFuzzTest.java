package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.Cidr;
import dev.keywarden.names.DnsNames;
import dev.keywarden.names.UriSanRules;
import dev.keywarden.names.IpLiterals;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The certificate name rules read caller text: DNS names and globs, URI SANs and their patterns, IP literals and
 * CIDRs, and whole requests against a role. Whatever the text, each gives a value or refuses with
 * KeywardenException, and what it accepts it accepts again unchanged (normal forms are fixed points).
 */
class NameRulesFuzzTest {
  private static final List<Role> ROLES = List.of(
      Role.builder("strict").allowedDomains("example.com").allowSubdomains(true).serverFlag(true).build(),
      Role.fromJson("{\"name\":\"wide\",\"server_flag\":true,\"allowed_domains\":[\"example.com\",\"*.svc.example.org\","
          + "\"web-*.example.net\"],\"allow_glob_domains\":true,\"allow_subdomains\":true,\"allow_bare_domains\":true,"
          + "\"allow_wildcard\":true,\"allow_localhost\":true,\"allow_ip_sans\":true,\"allowed_ip_cidrs\":"
          + "[\"10.0.0.0/8\",\"2001:db8::/32\"],\"allowed_uri_sans\":[\"spiffe://example.com/*\","
          + "\"https://*.example.com:8443/api/*\"]}"));

  @FuzzTest
  void dnsNamesAndGlobs(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    DnsNames.problem(text, true);
    try {
      String name = DnsNames.check("", text);
      assertEquals(name, DnsNames.check("", name));
    } catch (KeywardenException refused) {
      // refused
    }
    try {
      String glob = DnsNames.checkGlob("", text);
      assertEquals(glob, DnsNames.checkGlob("", glob));
      DnsNames.globMatches(glob, Role.lower(text));
      assertTrue(glob.indexOf('*') >= 0 || DnsNames.globMatches(glob, glob));
    } catch (KeywardenException refused) {
      // refused
    }
  }

  @FuzzTest
  void uriSansAndPatterns(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    String pattern = null;
    String uri = null;
    try {
      pattern = UriSanRules.checkPattern("", text);
      assertEquals(pattern, UriSanRules.checkPattern("", pattern));
    } catch (KeywardenException refused) {
      // refused
    }
    try {
      uri = UriSanRules.normalize("", text);
      assertEquals(uri, UriSanRules.normalize("", uri));
    } catch (KeywardenException refused) {
      // refused
    }
    if (pattern != null && uri != null) {
      assertTrue(UriSanRules.matches(pattern, uri), "a pattern matches the URI it was written as");
    }
  }

  @FuzzTest
  void ipLiteralsAndCidrs(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    InetAddress a = IpLiterals.parse(text);
    if (a != null) {
      assertEquals(a, IpLiterals.parse(IpLiterals.text(a)));
    }
    try {
      Cidr cidr = Cidr.parse("", text);
      assertTrue(cidr.contains(IpLiterals.of(cidr.network())));
    } catch (KeywardenException refused) {
      // refused
    }
  }

  @FuzzTest
  void requestedNamesAgainstARole(FuzzedDataProvider data) {
    Role role = data.pickValue(ROLES);
    Optional<String> cn = data.consumeBoolean() ? Optional.of(data.consumeString(80)) : Optional.empty();
    List<String> dns = new ArrayList<>();
    List<InetAddress> ips = new ArrayList<>();
    List<URI> uris = new ArrayList<>();
    for (int n = data.consumeInt(0, 4); n > 0; n--) {
      switch (data.consumeInt(0, 2)) {
        case 0 -> dns.add(data.consumeString(80));
        case 1 -> {
          int length = data.consumeBoolean() ? 4 : 16;
          byte[] octets = data.consumeBytes(length);
          if (octets.length == length) {
            ips.add(IpLiterals.of(octets));
          }
        }
        default -> {
          try {
            uris.add(new URI(data.consumeString(120)));
          } catch (URISyntaxException notAUri) {
            // CsrCheck refuses these before the rules see them
          }
        }
      }
    }
    try {
      RequestedNames checked = NameRules.check(role, new RequestedNames(cn, dns, ips, uris));
      assertEquals(checked, NameRules.check(role, checked));
    } catch (KeywardenException refused) {
      // refused
    }
  }
}
