package dev.keywarden.names;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.quicktheories.core.Gen;

/** URI SAN glob matching: the same answers as the regular expression it replaced, without its exponential cases. */
class UriSanRulesTest {

  /** The matcher as it was (a regular expression per call), kept as the reference on inputs too small to hurt it. */
  private static boolean byRegex(String pattern, String uri) {
    int authorityStart = pattern.indexOf("://") + 3;
    int pathStart = pattern.indexOf('/', authorityStart);
    if (pathStart < 0) {
      pathStart = pattern.length();
    }
    StringBuilder re = new StringBuilder();
    glob(re, pattern.substring(0, authorityStart), "");
    glob(re, pattern.substring(authorityStart, pathStart), "[a-z0-9_-]*");
    glob(re, pattern.substring(pathStart), "[^/]*");
    return Pattern.compile(re.toString()).matcher(uri).matches();
  }

  private static void glob(StringBuilder re, String glob, String star) {
    int from = 0;
    for (int i = glob.indexOf('*'); i >= 0; i = glob.indexOf('*', from)) {
      re.append(Pattern.quote(glob.substring(from, i))).append(star);
      from = i + 1;
    }
    if (from < glob.length()) {
      re.append(Pattern.quote(glob.substring(from)));
    }
  }

  /** Short strings over the characters that matter: stars, separators, a few letters, an upper-case one. */
  private static Gen<String> part(String alphabet, int max) {
    return lists().of(integers().between(0, alphabet.length() - 1)).ofSizeBetween(0, max).map(ix -> {
      StringBuilder b = new StringBuilder();
      ix.forEach(i -> b.append(alphabet.charAt(i)));
      return b.toString();
    });
  }

  @Test
  void answersAsTheRegularExpressionDid() {
    qt().withExamples(20_000).forAll(part("ab*.:-_", 7), part("ab*/.", 9), part("ab.:-_X", 7), part("ab/.*X", 10))
        .checkAssert((patternHost, patternPath, uriHost, uriPath) -> {
          String pattern = "spiffe://" + patternHost + (patternPath.isEmpty() ? "" : "/" + patternPath);
          String uri = "spiffe://" + uriHost + (uriPath.isEmpty() ? "" : "/" + uriPath);
          assertEquals(byRegex(pattern, uri), UriSanRules.matches(pattern, uri), pattern + " ~ " + uri);
          // a URI written like its pattern, stars taken as letters
          String same = pattern.replace('*', 'a');
          assertEquals(byRegex(pattern, same), UriSanRules.matches(pattern, same), pattern + " ~ " + same);
        });
  }

  @Test
  void aStarKeepsToItsLabelOrSegment() {
    assertTrue(UriSanRules.matches("https://*.example.com/svc/*", "https://api.example.com/svc/orders"));
    assertFalse(UriSanRules.matches("https://*.example.com/svc/*", "https://a.b.example.com/svc/orders"));
    assertFalse(UriSanRules.matches("https://*.example.com/svc/*", "https://api.example.com/svc/orders/x"));
    assertTrue(UriSanRules.matches("spiffe://prod/ns/*/sa/*", "spiffe://prod/ns/payments/sa/api"));
    assertFalse(UriSanRules.matches("spiffe://prod/ns/*/sa/*", "spiffe://prod/ns/payments/sa"));
    assertTrue(UriSanRules.matches("https://h*:8443", "https://host:8443"));
    assertFalse(UriSanRules.matches("https://h*", "https://host:8443"), "a host star takes no ':'");
    assertTrue(UriSanRules.matches("https://h/a**b", "https://h/ab"));
  }

  /**
   * Many stars in one segment against a URI that almost matches: the regular expression backtracked through every
   * way of splitting the URI among the stars (this one would not have finished; the fuzzer's case hung for minutes).
   */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void manyStarsAgainstANearMissFinish() {
    String pattern = "spiffe://h/" + "a*".repeat(40) + "b";
    assertFalse(UriSanRules.matches(pattern, "spiffe://h/" + "a".repeat(200)));
    assertTrue(UriSanRules.matches(pattern, "spiffe://h/" + "a".repeat(200) + "b"));
    String fuzzed = "s.://com/nom/nS/dsa" + "*".repeat(35) + "S" + "*".repeat(24) + "nweb";
    assertTrue(UriSanRules.matches(UriSanRules.checkPattern("", fuzzed), UriSanRules.normalize("", fuzzed)));
    String longest = "https://h/" + "*x".repeat(1000);
    assertFalse(UriSanRules.matches(longest, "https://h/" + "x".repeat(1999) + "y"));
  }
}
