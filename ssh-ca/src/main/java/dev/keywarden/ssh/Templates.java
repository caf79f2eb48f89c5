package dev.keywarden.ssh;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.Glob;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Role templates: {@code {{identity}}}, {@code {{meta.KEY}}} (the caller's identity and its metadata) and, in key id
 * templates, {@code {{role}}}, {@code {{ca}}} and {@code {{serial}}}. Principal patterns may also hold '*', which
 * matches any run of characters (none included); a '*' that comes from a substituted value is a literal '*'.
 */
final class Templates {
  private static final Pattern VARIABLE = Pattern.compile("\\{\\{([^{}]*)}}");
  private static final Pattern META = Pattern.compile("meta\\.[A-Za-z0-9_.-]{1,64}");

  private Templates() {}

  /** Checks the variables a template uses are among {@code allowed} (plus meta.KEY); returns it. */
  static String check(String where, String template, List<String> allowed) {
    Matcher m = VARIABLE.matcher(template);
    while (m.find()) {
      String v = m.group(1);
      if (!allowed.contains(v) && !META.matcher(v).matches()) {
        throw KeywardenException.invalid(where + "'" + Inputs.quoted(template) + "' uses {{" + Inputs.quoted(v)
            + "}}; known: " + String.join(", ", allowed.stream().map(a -> "{{" + a + "}}").toList())
            + ", {{meta.KEY}}");
      }
    }
    String rest = VARIABLE.matcher(template).replaceAll("");
    if (rest.contains("{{") || rest.contains("}}")) {
      throw KeywardenException.invalid(where + "'" + Inputs.quoted(template) + "' has an unclosed {{ or }}");
    }
    return template;
  }

  /** The template with every variable replaced; empty when a variable has no value (a missing metadata key). */
  static Optional<String> expand(String template, Map<String, String> values) {
    if (template.indexOf("{{") < 0) {
      return Optional.of(template); // most principals and many key id templates: nothing to substitute
    }
    StringBuilder out = new StringBuilder();
    for (Segment s : segments(template, values)) {
      if (s.value() == null) {
        return Optional.empty();
      }
      out.append(s.value());
    }
    return Optional.of(out.toString());
  }

  /** True if {@code principal} is matched by the pattern after substitution (see the class comment). */
  static boolean matches(String pattern, Map<String, String> values, String principal) {
    if (pattern.indexOf("{{") < 0) {
      return Glob.of(pattern).matches(principal); // no variables: every '*' is the pattern's own
    }
    List<Segment> segments = segments(pattern, values);
    // Tokens: literal characters (from the pattern or from values) and the pattern's own '*'.
    List<Integer> tokens = new ArrayList<>(); // char value, or -1 for a glob star
    for (Segment s : segments) {
      if (s.value() == null) {
        return false;
      }
      for (int i = 0; i < s.value().length(); i++) {
        char c = s.value().charAt(i);
        tokens.add(s.literal() && c == '*' ? -1 : (int) c);
      }
    }
    return glob(tokens, principal);
  }

  private static boolean glob(List<Integer> p, String s) {
    int pi = 0;
    int si = 0;
    int star = -1;
    int mark = 0;
    while (si < s.length()) {
      if (pi < p.size() && p.get(pi) == -1) {
        star = pi++;
        mark = si;
      } else if (pi < p.size() && p.get(pi) == s.charAt(si)) {
        pi++;
        si++;
      } else if (star >= 0) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    }
    while (pi < p.size() && p.get(pi) == -1) {
      pi++;
    }
    return pi == p.size();
  }

  /** The pattern's own text ({@code literal}: its '*' are globs) and substituted values (null when missing). */
  private record Segment(String value, boolean literal) {}

  /** Splits at each {{NAME}} (NAME holds no brace, as {@link #VARIABLE} says), with a scan: this runs per request. */
  private static List<Segment> segments(String template, Map<String, String> values) {
    List<Segment> out = new ArrayList<>();
    int at = 0;
    int open = template.indexOf("{{");
    while (open >= 0) {
      int close = template.indexOf("}}", open + 2);
      if (close < 0) {
        break;
      }
      String name = template.substring(open + 2, close);
      if (name.indexOf('{') >= 0 || name.indexOf('}') >= 0) {
        open = template.indexOf("{{", open + 1); // as the regex: "{{{x}}" is "{" then {{x}}
        continue;
      }
      out.add(new Segment(template.substring(at, open), true));
      out.add(new Segment(values.get(name), false));
      at = close + 2;
      open = template.indexOf("{{", at);
    }
    out.add(new Segment(template.substring(at), true));
    return out;
  }

  /** The values of identity templates for {@code caller}. */
  static Map<String, String> identityValues(SshIdentity caller) {
    Map<String, String> v = new java.util.HashMap<>();
    if (!caller.name().isEmpty()) {
      v.put("identity", caller.name());
    }
    caller.metadata().forEach((k, val) -> v.put("meta." + k, val));
    return v;
  }
}
