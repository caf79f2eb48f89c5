package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.testing.Generators;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** The role rules against simple oracles, over generated patterns, identities, names and durations. */
class SshRoleRulesPropertiesTest {
  private static final Gen<String> WORDS = Generators.stringsOver("ab*-.", 0, 8);
  private static final Gen<String> NAMES = Generators.stringsOver("ab-.", 1, 8);
  private static final Gen<String> IDENTITIES = Generators.stringsOver("ab*.", 0, 4);

  /** The oracle: the pattern as a regex, '*' in the role's text as .*, everything else (values too) quoted. */
  private static boolean oracle(String pattern, String identity, String principal) {
    String expanded = pattern;
    StringBuilder regex = new StringBuilder();
    String[] parts = expanded.split("\\{\\{identity}}", -1);
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) {
        if (identity.isEmpty()) {
          return false;
        }
        regex.append(Pattern.quote(identity));
      }
      for (char c : parts[i].toCharArray()) {
        regex.append(c == '*' ? ".*" : Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.matches(regex.toString(), principal);
  }

  @Test
  void principalGlobsWithIdentityTemplatesMatchAsTheRegexOracleSays() {
    Gen<String> patterns = WORDS.zip(Generate.booleans(), WORDS, (a, t, b) -> t ? a + "{{identity}}" + b : a + b);
    qt().withExamples(3000).forAll(patterns, IDENTITIES, NAMES).checkAssert((pattern, identity, principal) -> {
      Map<String, String> values = new HashMap<>();
      if (!identity.isEmpty()) {
        values.put("identity", identity);
      }
      assertEquals(oracle(pattern, identity, principal), Templates.matches(pattern, values, principal),
          pattern + " / " + identity + " / " + principal);
    });
  }

  @Test
  void anIdentityHoldingAStarNeverWidensAPattern() {
    qt().withExamples(500).forAll(NAMES).checkAssert(principal -> {
      boolean matches = Templates.matches("{{identity}}", Map.of("identity", "*"), principal);
      assertEquals(principal.equals("*"), matches);
    });
  }

  @Test
  void ttlsUpToMaxTtlAreKeptAndLongerOnesRefusedNamingTheLimit() {
    qt().withExamples(500).forAll(Generate.range(1, 48 * 3600), Generate.range(1, 24 * 3600))
        .checkAssert((asked, max) -> {
          SshRole role = SshRole.builder("t", CertType.USER).allowAnyPrincipal(true)
              .ttl(Duration.ofSeconds(Math.min(max, 3600))).maxTtl(Duration.ofSeconds(max)).build();
          if (asked <= max) {
            assertEquals(Duration.ofSeconds(asked), SshRoleRules.ttl(role, Optional.of(Duration.ofSeconds(asked))));
            SshRoleRules.Decided d = SshRoleRules.decide(role, new SshIdentity("x", Map.of()), List.of(),
                Optional.of(Duration.ofSeconds(asked)), null, null, Instant.ofEpochSecond(1_000_000));
            assertEquals(1_000_000 - 30, d.validAfter());
            assertEquals(1_000_000 + asked, d.validBefore());
          } else {
            KeywardenException e = assertThrows(KeywardenException.class,
                () -> SshRoleRules.ttl(role, Optional.of(Duration.ofSeconds(asked))));
            assertTrue(e.getMessage().startsWith("ttl: ") && e.getMessage().contains("max_ttl"), e.getMessage());
          }
        });
  }

  private static final List<String> EXTENSIONS = List.copyOf(new java.util.TreeSet<>(CertOptions.EXTENSIONS));

  @Test
  void extensionsAreTheRequestedOnesWhenAllAllowedOtherwiseRefusedAndDefaultsWhenNoneAsked() {
    Gen<List<Integer>> subsets = Generate.intArrays(Generate.range(0, 6), Generate.range(0, EXTENSIONS.size() - 1))
        .map(a -> java.util.Arrays.stream(a).boxed().distinct().toList());
    qt().withExamples(1000).forAll(subsets, subsets, subsets).checkAssert((allowedIx, defaultIx, askedIx) -> {
      List<String> allowed = allowedIx.stream().map(EXTENSIONS::get).toList();
      List<String> defaults = defaultIx.stream().map(EXTENSIONS::get).filter(allowed::contains).toList();
      SshRole role = SshRole.builder("e", CertType.USER).allowAnyPrincipal(true)
          .allowedExtensions(allowed.toArray(String[]::new)).defaultExtensions(defaults.toArray(String[]::new))
          .build();
      Map<String, String> asked = new HashMap<>();
      askedIx.forEach(i -> asked.put(EXTENSIONS.get(i), ""));
      if (asked.isEmpty()) {
        assertEquals(new java.util.TreeSet<>(defaults), SshRoleRules.extensions(role, asked).keySet());
      } else if (allowed.containsAll(asked.keySet())) {
        assertEquals(new java.util.TreeSet<>(asked.keySet()), SshRoleRules.extensions(role, asked).keySet());
      } else {
        KeywardenException e = assertThrows(KeywardenException.class, () -> SshRoleRules.extensions(role, asked));
        assertTrue(e.getMessage().startsWith("extensions: '") && e.getMessage().contains("allowed_extensions"));
      }
    });
  }

  @Test
  void defaultCriticalOptionsAreAlwaysKeptAndOnlyAllowedOnesMaySetValues() {
    qt().withExamples(300).forAll(Generate.booleans(), Generate.booleans(), Generate.range(0, 255))
        .checkAssert((allowForce, askForce, octet) -> {
          SshRole role = SshRole.builder("o", CertType.USER).allowAnyPrincipal(true)
              .defaultCriticalOptions(Map.of("source-address", "10.0.0.0/8"))
              .allowedCriticalOptions(allowForce ? new String[] {"force-command"} : new String[0]).build();
          Map<String, String> asked = new HashMap<>();
          if (askForce) {
            asked.put("force-command", "/usr/bin/run " + octet);
          }
          if (askForce && !allowForce) {
            assertThrows(KeywardenException.class, () -> SshRoleRules.criticalOptions(role, asked));
            return;
          }
          Map<String, String> got = SshRoleRules.criticalOptions(role, asked);
          assertEquals("10.0.0.0/8", got.get("source-address"), "a default restriction is never dropped");
          assertEquals(askForce, got.containsKey("force-command"));
        });
  }

  @Test
  void sourceAddressListsAreAcceptedExactlyWhenEveryEntryIsACidrWithoutHostBits() {
    qt().withExamples(1000).forAll(Generate.intArrays(Generate.range(1, 4), Generate.range(0, 255)),
        Generate.range(0, 32)).checkAssert((octets, prefix) -> {
          List<String> cidrs = new ArrayList<>();
          boolean valid = true;
          for (int o : octets) {
            long addr = ((long) o << 24) | ((long) o << 8);
            long mask = prefix == 0 ? 0 : (0xffffffffL << (32 - prefix)) & 0xffffffffL;
            valid &= (addr & ~mask & 0xffffffffL) == 0;
            cidrs.add(((addr >> 24) & 255) + "." + ((addr >> 16) & 255) + "." + ((addr >> 8) & 255) + "."
                + (addr & 255) + "/" + prefix);
          }
          String value = String.join(",", cidrs);
          if (valid) {
            assertEquals(value, CertOptions.optionValue("", "source-address", value));
          } else {
            assertThrows(KeywardenException.class, () -> CertOptions.optionValue("", "source-address", value));
          }
        });
  }

  @Test
  void hostNamesFollowTheBareSubdomainAndGlobRules() {
    Gen<String> hosts = Generators.stringsOver("abx", 1, 3).zip(Generate.pick(List.of("", ".example.com",
        ".a.example.com", ".example.org")), (l, d) -> d.isEmpty() ? "example.com" : l + d);
    qt().withExamples(500).forAll(hosts, Generate.booleans(), Generate.booleans(), Generate.booleans())
        .checkAssert((host, bare, sub, glob) -> {
          SshRole.Builder b = SshRole.builder("h", CertType.HOST).allowBareDomains(bare).allowSubdomains(sub)
              .allowGlobDomains(glob);
          SshRole role = (glob ? b.allowedDomains("example.com", "a*.example.org") : b.allowedDomains("example.com"))
              .build();
          boolean expected = (host.equals("example.com") && bare)
              || (host.endsWith(".example.com") && sub)
              || (glob && host.matches("a[abx]*\\.example\\.org"));
          boolean got;
          try {
            SshRoleRules.principals(role, new SshIdentity("x", Map.of()), List.of(host));
            got = true;
          } catch (KeywardenException e) {
            assertTrue(e.getMessage().startsWith("principals: '" + host + "' is not allowed by role 'h'"));
            got = false;
          }
          assertEquals(expected, got, host + " bare=" + bare + " sub=" + sub + " glob=" + glob);
        });
  }
}
