package dev.keywarden.server.auth;

import dev.keywarden.names.Glob;
import java.util.List;
import java.util.Set;

/**
 * One rule of a policy: a resource pattern (a {@link Glob}: {@code *} matches any run of characters, '/' included) and
 * the capabilities it grants. Matching is linear in the resource's length: a caller chooses the resource, an operator
 * the pattern.
 */
public record PolicyRule(String resource, Set<String> capabilities, Glob glob) {

  static PolicyRule of(String resource, List<String> capabilities) {
    return new PolicyRule(resource, Set.copyOf(capabilities), Glob.of(resource));
  }

  boolean matches(String resourceName) {
    return glob.matches(resourceName);
  }
}
