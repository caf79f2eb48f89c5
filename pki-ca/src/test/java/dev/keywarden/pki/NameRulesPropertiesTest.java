package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import java.net.InetAddress;
import java.net.URI;
import java.util.List;
import java.util.Random;
import net.jqwik.api.*;

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

  @Provide
  Arbitrary<String> labels() {
    Arbitrary<String> plain = Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyz0123456789")
        .ofMinLength(1).ofMaxLength(12);
    return Arbitraries.oneOf(plain, Combinators.combine(plain, plain).as((a, b) -> a + "-" + b));
  }

  @Provide
  Arbitrary<String> prefixes() {
    return labels().list().ofMinSize(1).ofMaxSize(4).map(l -> String.join(".", l));
  }

  @Property
  void subdomainIsAllowedIffAllowSubdomains(@ForAll("prefixes") String prefix, @ForAll boolean subdomains,
      @ForAll boolean bare) {
    Role role = web().allowSubdomains(subdomains).allowBareDomains(bare).build();
    assertEquals(subdomains, allowed(() -> NameRules.checkDnsSan(role, prefix + ".example.com")));
  }

  @Property
  void bareDomainIsAllowedIffAllowBareDomains(@ForAll boolean subdomains, @ForAll boolean bare) {
    Role role = web().allowSubdomains(subdomains).allowBareDomains(bare).build();
    assertEquals(bare, allowed(() -> NameRules.checkDnsSan(role, "example.com")));
    assertEquals(bare, allowed(() -> NameRules.checkCommonName(role, "EXAMPLE.com")));
  }

  @Provide
  Arbitrary<String> lookalikes() {
    return Arbitraries.oneOf(
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
        Arbitraries.of("example.com.", ".example.com", "com", "example", "xn--.example.com", "ab--c.example.com",
            "-a.example.com", "a-.example.com", "10.0.0.1", "1.example.123"));
  }

  @Property
  void lookalikesAreNeverAllowedEvenWithEveryFlagOn(@ForAll("lookalikes") String name) {
    Role role = web().allowSubdomains(true).allowBareDomains(true).allowWildcard(true).allowLocalhost(true).build();
    assertFalse(allowed(() -> NameRules.checkDnsSan(role, name)), name);
  }

  @Property
  void matchingIgnoresCase(@ForAll("prefixes") String prefix, @ForAll long seed) {
    Role role = Role.builder("web").serverFlag(true).allowedDomains("Example.COM").allowSubdomains(true).build();
    String name = flipCase(prefix + ".example.com", new Random(seed));
    assertEquals((prefix + ".example.com"), NameRules.checkDnsSan(role, name));
  }

  private static String flipCase(String s, Random r) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(r.nextBoolean() ? Character.toUpperCase(c) : c);
    }
    return b.toString();
  }

  @Property
  void globStarMatchesExactlyOneLabel(@ForAll("prefixes") String prefix) {
    Role role = Role.builder("svc").serverFlag(true).allowGlobDomains(true).allowedDomains("*.svc.cluster.local")
        .build();
    boolean oneLabel = !prefix.contains(".");
    assertEquals(oneLabel, allowed(() -> NameRules.checkDnsSan(role, prefix + ".svc.cluster.local")));
    assertFalse(allowed(() -> NameRules.checkDnsSan(role, "svc.cluster.local")));
    assertFalse(allowed(() -> NameRules.checkDnsSan(role, prefix + ".svc.cluster.local.evil.org")));
  }

  @Property
  void globStarMatchesWithinALabel(@ForAll("labels") String label) {
    Role role = Role.builder("web").serverFlag(true).allowGlobDomains(true).allowedDomains("web-*.example.com")
        .build();
    assertTrue(allowed(() -> NameRules.checkDnsSan(role, "web-" + label + ".example.com")));
    assertEquals(label.startsWith("web-"), allowed(() -> NameRules.checkDnsSan(role, label + ".example.com")));
    assertFalse(allowed(() -> NameRules.checkDnsSan(role, "web-" + label + ".x.example.com")));
  }

  @Property
  void wildcardNeedsAllowWildcardAndAllowSubdomains(@ForAll("prefixes") String under, @ForAll boolean wildcard,
      @ForAll boolean subdomains) {
    Role role = web().allowWildcard(wildcard).allowSubdomains(subdomains).allowBareDomains(true).build();
    assertEquals(wildcard && subdomains, allowed(() -> NameRules.checkDnsSan(role, "*.example.com")));
    assertEquals(wildcard && subdomains, allowed(() -> NameRules.checkDnsSan(role, "*." + under + ".example.com")));
  }

  @Property
  void wildcardMatchesAGlobOnlyWhenTheGlobLabelIsAStar(@ForAll boolean wildcard) {
    Role role = Role.builder("svc").serverFlag(true).allowGlobDomains(true).allowWildcard(wildcard)
        .allowedDomains("*.svc.cluster.local", "web-*.example.com").build();
    assertEquals(wildcard, allowed(() -> NameRules.checkDnsSan(role, "*.svc.cluster.local")));
    assertFalse(allowed(() -> NameRules.checkDnsSan(role, "*.example.com")));
  }

  @Provide
  Arbitrary<String> badWildcards() {
    return Arbitraries.oneOf(
        labels().map(l -> l + "*.example.com"),
        labels().map(l -> "*" + l + ".example.com"),
        labels().map(l -> l + ".*.example.com"),
        labels().map(l -> "*.*." + l + ".example.com"),
        Arbitraries.of("*", "*.com", "**.example.com", "*.*.example.com", "*.", "*..example.com", "*.example.*"));
  }

  @Property
  void malformedWildcardsAreNeverAllowed(@ForAll("badWildcards") String name) {
    Role role = web().allowWildcard(true).allowSubdomains(true).allowBareDomains(true).allowGlobDomains(true)
        .allowedDomains("example.com", "*.example.com", "com").build();
    assertFalse(allowed(() -> NameRules.checkDnsSan(role, name)), name);
  }

  @Provide
  Arbitrary<InetAddress> addresses() {
    Arbitrary<byte[]> v4 = Arbitraries.bytes().array(byte[].class).ofSize(4);
    Arbitrary<byte[]> v6 = Arbitraries.bytes().array(byte[].class).ofSize(16);
    return Arbitraries.oneOf(
        v4,
        v4.map(b -> { b[0] = 10; return b; }),
        v4.map(b -> { b[0] = (byte) 192; b[1] = (byte) 168; b[2] = (byte) Math.floorMod(b[2], 3); return b; }),
        v6,
        v6.map(b -> { b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = (byte) (0xb7 + Math.floorMod(b[3], 3)); return b; }),
        v4.map(b -> mapped(b)),
        Arbitraries.of(new byte[4], new byte[16]))
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

  @Property
  void ipSansAreAllowedOnlyWithAllowIpSans(@ForAll("addresses") InetAddress a, @ForAll boolean allowIps) {
    Role role = web().allowIpSans(allowIps).build();
    boolean expected = allowIps && !unusable(a.getAddress());
    assertEquals(expected, allowed(() -> NameRules.checkIpSan(role, a)));
    assertEquals(expected, allowed(() -> NameRules.checkCommonName(role, IpLiterals.text(a))));
  }

  @Property
  void ipSansMustBeInsideTheRolesCidrs(@ForAll("addresses") InetAddress a) {
    Role role = web().allowIpSans(true).allowedIpCidrs("10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32").build();
    byte[] b = a.getAddress();
    boolean inside = b.length == 4
        ? b[0] == 10 || (b[0] == (byte) 192 && b[1] == (byte) 168 && b[2] == 1)
        : b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == (byte) 0xb8;
    assertEquals(inside && !unusable(b), allowed(() -> NameRules.checkIpSan(role, a)), IpLiterals.text(a));
  }

  @Provide
  Arbitrary<String> segments() {
    return Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        .ofMinLength(1).ofMaxLength(12).filter(s -> !s.equals(".") && !s.equals(".."));
  }

  private static Role spiffe() {
    return Role.builder("workload").clientFlag(true).allowedUriSans("spiffe://example.org/ns/*/sa/*").build();
  }

  @Property
  void spiffeStarMatchesWithinOnePathSegment(@ForAll("segments") String ns, @ForAll("segments") String sa) {
    Role role = spiffe();
    assertTrue(allowed(() -> NameRules.checkUriSan(role, URI.create("spiffe://example.org/ns/" + ns + "/sa/" + sa))));
    assertTrue(allowed(() -> NameRules.checkUriSan(role, URI.create("SPIFFE://Example.ORG/ns/" + ns + "/sa/" + sa))));
    assertFalse(allowed(() -> NameRules.checkUriSan(role,
        URI.create("spiffe://example.org/ns/" + ns + "/x/sa/" + sa))));
    assertFalse(allowed(() -> NameRules.checkUriSan(role,
        URI.create("spiffe://example.org/ns/" + ns + "/sa/" + sa + "/x"))));
    assertFalse(allowed(() -> NameRules.checkUriSan(role, URI.create("spiffe://example.org/NS/" + ns + "/sa/" + sa))));
    assertFalse(allowed(() -> NameRules.checkUriSan(role,
        URI.create("spiffe://example.org.evil/ns/" + ns + "/sa/" + sa))));
    assertFalse(allowed(() -> NameRules.checkUriSan(role, URI.create("spiffe://example.org/ns/" + ns + "/sa/"))));
  }

  @Property
  void hostStarInAUriPatternMatchesOneLabel(@ForAll("labels") String label, @ForAll("prefixes") String prefix) {
    Role role = Role.builder("web").serverFlag(true).allowedUriSans("https://*.example.com/api").build();
    assertTrue(allowed(() -> NameRules.checkUriSan(role, URI.create("https://" + label + ".example.com/api"))));
    assertEquals(!prefix.contains("."),
        allowed(() -> NameRules.checkUriSan(role, URI.create("https://" + prefix + ".example.com/api"))));
    assertFalse(allowed(() -> NameRules.checkUriSan(role, URI.create("https://" + label + ".example.com:8443/api"))));
  }

  @Property
  void everyStringIsEitherAllowedOrRefusedNamingTheRole(@ForAll String name) {
    Role role = web().allowSubdomains(true).allowBareDomains(true).allowWildcard(true).allowIpSans(true).build();
    allowed(() -> NameRules.checkDnsSan(role, name));
    if (!name.isEmpty()) {
      allowed(() -> NameRules.checkCommonName(role, name));
    }
  }

  @Example
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

  @Example
  void internationalizedNamesAreAcceptedOnlyInTheirAsciiForm() {
    Role role = web().allowSubdomains(true).build();
    assertEquals("xn--bcher-kva.example.com", NameRules.checkDnsSan(role, "xn--bcher-KVA.example.com"));
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> NameRules.checkDnsSan(role, "b\u00fccher.example.com"));
    assertTrue(e.getMessage().contains("xn--"), e.getMessage());
  }

  @Example
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
