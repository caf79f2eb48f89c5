package dev.keywarden.names;

import java.util.List;

/**
 * A '*'-only glob, as policy resources, JWT login claim bindings and JWT signing roles use it: {@code *} matches any
 * run of characters ('/' included, possibly none), every other character matches itself, case-sensitively, and the
 * whole text must match. Linear time, no backtracking, so a caller-chosen text cannot make matching slow.
 */
public record Glob(String pattern, List<String> segments) {

  /** The glob of {@code pattern}. */
  public static Glob of(String pattern) {
    return new Glob(pattern, List.of(pattern.split("\\*", -1)));
  }

  /**
   * Whether the whole of {@code text} matches. The literal runs between stars: the first must start the text, the
   * last must end it, and each one between is taken at its leftmost place after the one before. Leftmost is always
   * right for '*'-only globs: any match that places a run further right can slide it left without breaking the rest.
   */
  public boolean matches(String text) {
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
