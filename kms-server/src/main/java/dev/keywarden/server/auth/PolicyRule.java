package dev.keywarden.server.auth;

import java.util.List;
import java.util.Set;

/**
 * One rule of a policy: a resource pattern and the capabilities it grants. {@code *} in the pattern matches any run of
 * characters, '/' included; every other character matches itself. Matching takes time linear in the resource's length
 * (times the pattern's), never regex backtracking: a caller chooses the resource, an operator the pattern.
 */
public record PolicyRule(String resource, Set<String> capabilities, List<String> segments) {

  static PolicyRule of(String resource, List<String> capabilities) {
    return new PolicyRule(resource, Set.copyOf(capabilities), List.of(resource.split("\\*", -1)));
  }

  boolean matches(String resourceName) {
    return globMatches(segments, resourceName);
  }

  /**
   * The literal runs between stars: the first must start the text, the last must end it, and each one between is
   * taken at its leftmost place after the one before. Leftmost is always right for '*'-only globs: any match that
   * places a run further right can slide it left without breaking the rest.
   */
  static boolean globMatches(List<String> segments, String text) {
    int n = segments.size();
    if (n == 1) {
      return text.equals(segments.get(0));
    }
    String first = segments.get(0);
    String last = segments.get(n - 1);
    if (text.length() < first.length() + last.length() || !text.startsWith(first) || !text.endsWith(last)) {
      return false;
    }
    int from = first.length();
    int end = text.length() - last.length();
    for (int i = 1; i < n - 1; i++) {
      String run = segments.get(i);
      if (run.isEmpty()) {
        continue;
      }
      int at = text.indexOf(run, from);
      if (at < 0 || at + run.length() > end) {
        return false;
      }
      from = at + run.length();
    }
    return true;
  }
}
