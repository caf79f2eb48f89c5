package dev.keywarden.pki;

import static dev.keywarden.testing.Generators.bytes;
import static dev.keywarden.testing.Generators.stringsOver;
import static dev.keywarden.testing.Generators.unicodeStrings;
import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.IpLiterals;
import java.net.InetAddress;
import java.net.URI;
import java.util.Optional;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** The name rules, checked against independent oracles over generated names in and outside each rule. */
class NameRulesPropertiesTest {

  private static Role.Builder web() {
    return Role.builder("web").serverFlag(true).allowedDomains("example.com");
  }

  private static boolean allowed(Runnable check) {
    try {
      check.run();
      return true;
    } catch (KeywardenException e) {
      assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
      assertTrue(e.getMessage().contains("role '"), e.getMessage());
      return false;
    }
  }

  private static Gen<String> labels() {
    Gen<String> plain = stringsOver("abcdefghijklmnopqrstuvwxyz0123456789", 1, 12);
    return Generate.oneOf(plain, plain.zip(plain, (a, b) -> a + "-" + b));
  }

  private static Gen<String> prefixes() {
    return lists().of(labels()).ofSizeBetween(1, 4).map(l -> String.join(".", l));
  }

  @Test
  void subdomainIsAllowedIffAllowSubdomains() {
    qt().withExamples(1000).forAll(prefixes(), booleans().all(), booleans().all())
        .checkAssert((prefix, subdomains, bare) -> {
          Role role = web().allowSubdomains(subdomains).allowBareDomains(bare).build();
          assertEquals(subdomains, allowed(() -> NameRules.checkDnsSan(role, prefix + ".example.com")));
        });
  }

  /** Four cases in all: QuickTheories skips repeated draws, so its 1000 draws try each of them. */
  @Test
  void bareDomainIsAllowedIffAllowBareDomains() {
    qt().withExamples(1000).forAll(booleans().all(), booleans().all()).checkAssert((subdomains, bare) -> {
      Role role = web().allowSubdomains(subdomains).allowBareDomains(bare).build();
      assertEquals(bare, allowed(() -> NameRules.checkDnsSan(role, "example.com")));
      assertEquals(bare, allowed(() -> NameRules.checkCommonName(role, "EXAMPLE.com")));
    });
  }

  @SuppressWarnings("unchecked")
  private static Gen<String> lookalikes() {
    return Generate.oneOf(
        labels().map(l -> l + "example.com"),
        labels().map(l -> l + "-example.com"),
        labels().map(l -> "example.com." + l + ".org"),
        labels().map(l -> l + ".example.com.evil.org"),
        labels().map(l -> l + ".example.co"),
        labels().map(l -> "example.com-" + l + ".net"),
        labels().map(l -> l + ".example.com."),
        labels().map(l -> l + "..example.com"),
        labels().map(l -> l + "_x.example.com"),
        labels().map(l -> l + ".example\u0441om"), // Cyrillic 'с'
        Generate.pick(List.of("example.com.", ".example.com", "com", "example", "xn--.example.com",
            "ab--c.example.com", "-a.example.com", "a-.example.com", "10.0.0.1", "1.example.123")));
  }

  @Test
  void lookalikesAreNeverAllowedEvenWithEveryFlagOn() {
    qt().withExamples(1000).forAll(lookalikes()).checkAssert(name -> {
      Role role = web().allowSubdomains(true).allowBareDomains(true).allowWildcard(true).allowLocalhost(true)
          .build();
      assertFalse(allowed(() -> NameRules.checkDnsSan(role, name)), name);
    });
  }

  @Test
  void matchingIgnoresCase() {
    qt().withExamples(1000).forAll(prefixes(), longs().all()).checkAssert((prefix, seed) -> {
      Role role = Role.builder("web").serverFlag(true).allowedDomains("Example.COM").allowSubdomains(true).build();
      String name = flipCase(prefix + ".example.com", new Random(seed));
      assertEquals((prefix + ".example.com"), NameRules.checkDnsSan(role, name));
    });
  }

  private static String flipCase(String s, Random r) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(r.nextBoolean() ? Character.toUpperCase(c) : c);
    }
    return b.toString();
  }

  @Test
  void globStarMatchesExactlyOneLabel() {
    qt().withExamples(1000).forAll(prefixes()).checkAssert(prefix -> {
      Role role = Role.builder("svc").serverFlag(true).allowGlobDomains(true).allowedDomains("*.svc.cluster.local")
          .build();
      boolean oneLabel = !prefix.contains(".");
      assertEquals(oneLabel, allowed(() -> NameRules.checkDnsSan(role, prefix + ".svc.cluster.local")));
      assertFalse(allowed(() -> NameRules.checkDnsSan(role, "svc.cluster.local")));
      assertFalse(allowed(() -> NameRules.checkDnsSan(role, prefix + ".svc.cluster.local.evil.org")));
    });
  }

  @Test
  void globStarMatchesWithinALabel() {
    qt().withExamples(1000).forAll(labels()).checkAssert(label -> {
      Role role = Role.builder("web").serverFlag(true).allowGlobDomains(true).allowedDomains("web-*.example.com")
          .build();
      assertTrue(allowed(() -> NameRules.checkDnsSan(role, "web-" + label + ".example.com")));
      assertEquals(label.startsWith("web-"), allowed(() -> NameRules.checkDnsSan(role, label + ".example.com")));
      assertFalse(allowed(() -> NameRules.checkDnsSan(role, "web-" + label + ".x.example.com")));
    });
  }

  @Test
  void wildcardNeedsAllowWildcardAndAllowSubdomains() {
    qt().withExamples(1000).forAll(prefixes(), booleans().all(), booleans().all())
        .checkAssert((under, wildcard, subdomains) -> {
          Role role = web().allowWildcard(wildcard).allowSubdomains(subdomains).allowBareDomains(true).build();
          assertEquals(wildcard && subdomains, allowed(() -> NameRules.checkDnsSan(role, "*.example.com")));
          assertEquals(wildcard && subdomains,
              allowed(() -> NameRules.checkDnsSan(role, "*." + under + ".example.com")));
        });
  }

  /** Two cases in all: QuickTheories skips repeated draws, so its 1000 draws try both. */
  @Test
  void wildcardMatchesAGlobOnlyWhenTheGlobLabelIsAStar() {
    qt().withExamples(1000).forAll(booleans().all()).checkAssert(wildcard -> {
      Role role = Role.builder("svc").serverFlag(true).allowGlobDomains(true).allowWildcard(wildcard)
          .allowedDomains("*.svc.cluster.local", "web-*.example.com").build();
      assertEquals(wildcard, allowed(() -> NameRules.checkDnsSan(role, "*.svc.cluster.local")));
      assertFalse(allowed(() -> NameRules.checkDnsSan(role, "*.example.com")));
    });
  }

  @SuppressWarnings("unchecked")
  private static Gen<String> badWildcards() {
    return Generate.oneOf(
        labels().map(l -> l + "*.example.com"),
        labels().map(l -> "*" + l + ".example.com"),
        labels().map(l -> l + ".*.example.com"),
        labels().map(l -> "*.*." + l + ".example.com"),
        Generate.pick(List.of("*", "*.com", "**.example.com", "*.*.example.com", "*.", "*..example.com",
            "*.example.*")));
  }

  @Test
  void malformedWildcardsAreNeverAllowed() {
    qt().withExamples(1000).forAll(badWildcards()).checkAssert(name -> {
      Role role = web().allowWildcard(true).allowSubdomains(true).allowBareDomains(true).allowGlobDomains(true)
          .allowedDomains("example.com", "*.example.com", "com").build();
      assertFalse(allowed(() -> NameRules.checkDnsSan(role, name)), name);
    });
  }

  @SuppressWarnings("unchecked")
  private static Gen<InetAddress> addresses() {
    Gen<byte[]> v4 = bytes(4);
    Gen<byte[]> v6 = bytes(16);
    return Generate.oneOf(
        v4,
        v4.map(b -> { b[0] = 10; return b; }),
        v4.map(b -> { b[0] = (byte) 192; b[1] = (byte) 168; b[2] = (byte) Math.floorMod(b[2], 3); return b; }),
        v6,
        v6.map(b -> { b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = (byte) (0xb7 + Math.floorMod(b[3], 3)); return b; }),
        v4.map(b -> mapped(b)),
        Generate.pick(List.of(new byte[4], new byte[16])))
        .map(IpLiterals::of);
  }

  private static byte[] mapped(byte[] v4) {
    byte[] b = new byte[16];
    b[10] = (byte) 0xff;
    b[11] = (byte) 0xff;
    System.arraycopy(v4, 0, b, 12, 4);
    return b;
  }

  private static boolean unusable(byte[] b) {
    boolean zero = true;
    for (byte x : b) {
      zero &= x == 0;
    }
    boolean isMapped = b.length == 16 && java.util.Arrays.equals(b, mapped(java.util.Arrays.copyOfRange(b, 12, 16)));
    return zero || isMapped;
  }

  @Test
  void ipSansAreAllowedOnlyWithAllowIpSans() {
    qt().withExamples(1000).forAll(addresses(), booleans().all()).checkAssert((a, allowIps) -> {
      Role role = web().allowIpSans(allowIps).build();
      boolean expected = allowIps && !unusable(a.getAddress());
      assertEquals(expected, allowed(() -> NameRules.checkIpSan(role, a)));
      assertEquals(expected, allowed(() -> NameRules.checkCommonName(role, IpLiterals.text(a))));
    });
  }

  @Test
  void ipSansMustBeInsideTheRolesCidrs() {
    qt().withExamples(1000).forAll(addresses()).checkAssert(a -> {
      Role role = web().allowIpSans(true).allowedIpCidrs("10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32").build();
      byte[] b = a.getAddress();
      boolean inside = b.length == 4
          ? b[0] == 10 || (b[0] == (byte) 192 && b[1] == (byte) 168 && b[2] == 1)
          : b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == (byte) 0xb8;
      assertEquals(inside && !unusable(b), allowed(() -> NameRules.checkIpSan(role, a)), IpLiterals.text(a));
    });
  }

  private static Gen<String> segments() {
    return stringsOver("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", 1, 12)
        .assuming(s -> !s.equals(".") && !s.equals(".."));
  }

  private static Role spiffe() {
    return Role.builder("workload").clientFlag(true).allowedUriSans("spiffe://example.org/ns/*/sa/*").build();
  }

  @Test
  void spiffeStarMatchesWithinOnePathSegment() {
    qt().withExamples(1000).forAll(segments(), segments()).checkAssert((ns, sa) -> {
      Role role = spiffe();
      assertTrue(allowed(() -> NameRules.checkUriSan(role,
          URI.create("spiffe://example.org/ns/" + ns + "/sa/" + sa))));
      assertTrue(allowed(() -> NameRules.checkUriSan(role,
          URI.create("SPIFFE://Example.ORG/ns/" + ns + "/sa/" + sa))));
      assertFalse(allowed(() -> NameRules.checkUriSan(role,
          URI.create("spiffe://example.org/ns/" + ns + "/x/sa/" + sa))));
      assertFalse(allowed(() -> NameRules.checkUriSan(role,
          URI.create("spiffe://example.org/ns/" + ns + "/sa/" + sa + "/x"))));
      assertFalse(allowed(() -> NameRules.checkUriSan(role,
          URI.create("spiffe://example.org/NS/" + ns + "/sa/" + sa))));
      assertFalse(allowed(() -> NameRules.checkUriSan(role,
          URI.create("spiffe://example.org.evil/ns/" + ns + "/sa/" + sa))));
      assertFalse(allowed(() -> NameRules.checkUriSan(role, URI.create("spiffe://example.org/ns/" + ns + "/sa/"))));
    });
  }

  @Test
  void aSpiffeIdComesAloneOrNotAtAll() {
    Role role = Role.builder("workload").clientFlag(true)
        .allowedUriSans("spiffe://example.org/ns/*/sa/*", "https://*.example.org/*").build();
    qt().withExamples(300).forAll(segments(), segments(), segments()).checkAssert((ns, sa, other) -> {
      URI id = URI.create("spiffe://example.org/ns/" + ns + "/sa/" + sa);
      URI https = URI.create("https://" + other.replace('.', 'x').replace('_', 'x') + ".example.org/p");
      URI second = URI.create("spiffe://example.org/ns/" + ns + "/sa/" + sa + "x");
      assertTrue(allowed(() -> NameRules.check(role, names(List.of(id)))));
      assertTrue(allowed(() -> NameRules.check(role, names(List.of(id, id)))));
      assertFalse(allowed(() -> NameRules.check(role, names(List.of(id, second)))));
      assertFalse(allowed(() -> NameRules.check(role, names(List.of(https, id)))));
      assertTrue(allowed(() -> NameRules.check(role, names(List.of(https)))));
    });
  }

  private static RequestedNames names(List<URI> uris) {
    return new RequestedNames(Optional.empty(), List.of(), List.of(), uris);
  }

  @Test
  void hostStarInAUriPatternMatchesOneLabel() {
    qt().withExamples(1000).forAll(labels(), prefixes()).checkAssert((label, prefix) -> {
      Role role = Role.builder("web").serverFlag(true).allowedUriSans("https://*.example.com/api").build();
      assertTrue(allowed(() -> NameRules.checkUriSan(role, URI.create("https://" + label + ".example.com/api"))));
      assertEquals(!prefix.contains("."),
          allowed(() -> NameRules.checkUriSan(role, URI.create("https://" + prefix + ".example.com/api"))));
      assertFalse(allowed(() -> NameRules.checkUriSan(role,
          URI.create("https://" + label + ".example.com:8443/api"))));
    });
  }

  @Test
  void everyStringIsEitherAllowedOrRefusedNamingTheRole() {
    qt().withExamples(1000).forAll(unicodeStrings(0, 255)).checkAssert(name -> {
      Role role = web().allowSubdomains(true).allowBareDomains(true).allowWildcard(true).allowIpSans(true).build();
      allowed(() -> NameRules.checkDnsSan(role, name));
      if (!name.isEmpty()) {
        allowed(() -> NameRules.checkCommonName(role, name));
      }
    });
  }

  @Test
  void refusalNamesTheNameAndTheRule() {
    Role role = web().allowSubdomains(true).build();
    KeywardenException e = assertThrows(KeywardenException.class, () -> NameRules.checkDnsSan(role, "evil.com"));
    assertEquals("'evil.com' is not allowed by role 'web': not within allowed_domains [example.com]"
        + " (allow_bare_domains is off, allow_subdomains is on, allow_glob_domains is off)", e.getMessage());
    e = assertThrows(KeywardenException.class, () -> NameRules.checkDnsSan(role, "*.example.com"));
    assertEquals("'*.example.com' is not allowed by role 'web': allow_wildcard is off", e.getMessage());
    e = assertThrows(KeywardenException.class, () -> NameRules.checkDnsSan(role, "example.com"));
    assertEquals("'example.com' is not allowed by role 'web': it is the bare domain 'example.com' and"
        + " allow_bare_domains is off", e.getMessage());
    e = assertThrows(KeywardenException.class, () -> NameRules.checkIpSan(role, IpLiterals.parse("10.1.2.3")));
    assertEquals("'10.1.2.3' is not allowed by role 'web': allow_ip_sans is off", e.getMessage());
    e = assertThrows(KeywardenException.class, () -> NameRules.checkDnsSan(role, "localhost"));
    assertEquals("'localhost' is not allowed by role 'web': allow_localhost is off", e.getMessage());
  }

  @Test
  void internationalizedNamesAreAcceptedOnlyInTheirAsciiForm() {
    Role role = web().allowSubdomains(true).build();
    assertEquals("xn--bcher-kva.example.com", NameRules.checkDnsSan(role, "xn--bcher-KVA.example.com"));
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> NameRules.checkDnsSan(role, "b\u00fccher.example.com"));
    assertTrue(e.getMessage().contains("xn--"), e.getMessage());
  }

  @Test
  void checkNormalizesAndDropsDuplicates() {
    Role role = web().allowSubdomains(true).allowIpSans(true).allowedUriSans("spiffe://example.org/*").build();
    RequestedNames n = NameRules.check(role, new RequestedNames(java.util.Optional.of("A.example.com"),
        List.of("a.EXAMPLE.com", "a.example.com"), List.of(IpLiterals.parse("::1")),
        List.of(URI.create("SPIFFE://EXAMPLE.org/api"))));
    assertEquals("a.example.com", n.commonName().orElseThrow());
    assertEquals(List.of("a.example.com"), n.dnsNames());
    assertEquals(List.of(URI.create("spiffe://example.org/api")), n.uris());
  }
}
