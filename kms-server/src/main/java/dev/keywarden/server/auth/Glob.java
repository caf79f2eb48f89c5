package dev.keywarden.server.auth;

import java.util.List;

/**
 * A '*'-only glob, as policy resources use it: {@code *} matches any run of characters ('/' included, possibly none),
 * every other character matches itself, case-sensitively, and the whole text must match. Linear time, no
 * backtracking, so a caller-chosen text cannot make matching slow.
 */
public record Glob(String pattern, List<String> segments) {

  /** The glob of {@code pattern}. */
  public static Glob of(String pattern) {
    return new Glob(pattern, List.of(pattern.split("\\*", -1)));
  }

  /** Whether the whole of {@code text} matches. */
  public boolean matches(String text) {
    return PolicyRule.globMatches(segments, text);
  }
}
