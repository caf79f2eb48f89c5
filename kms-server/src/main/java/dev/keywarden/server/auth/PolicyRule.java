package dev.keywarden.server.auth;

import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One rule of a policy: a resource pattern and the capabilities it grants. {@code *} in the pattern matches any run of
 * characters, '/' included; every other character matches itself.
 */
public record PolicyRule(String resource, Set<String> capabilities, Pattern compiled) {

  static PolicyRule of(String resource, List<String> capabilities) {
    return new PolicyRule(resource, Set.copyOf(capabilities), compile(resource));
  }

  static Pattern compile(String glob) {
    StringBuilder regex = new StringBuilder();
    String[] parts = glob.split("\\*", -1);
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) {
        regex.append(".*");
      }
      if (!parts[i].isEmpty()) {
        regex.append(Pattern.quote(parts[i]));
      }
    }
    return Pattern.compile(regex.toString(), Pattern.DOTALL);
  }

  boolean matches(String resourceName) {
    return compiled.matcher(resourceName).matches();
  }
}
