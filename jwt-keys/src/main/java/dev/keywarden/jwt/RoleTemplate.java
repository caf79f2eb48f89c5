package dev.keywarden.jwt;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.Glob;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A role value with placeholders: {@code {{identity}}} and {@code {{meta.KEY}}} are replaced by the caller's identity
 * and metadata. Rendered into a glob, a value from the caller is taken literally: one that holds '*' is refused
 * rather than read as a wildcard.
 */
final class RoleTemplate {
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{([^{}]*)}}");
  private static final Pattern META = Pattern.compile("meta\\.[A-Za-z0-9_.-]{1,64}");

  private RoleTemplate() {}

  /** INVALID_ARGUMENT (starting with {@code field}) unless every placeholder in {@code template} is known. */
  static String check(String field, String template) {
    Matcher m = PLACEHOLDER.matcher(template);
    int end = 0;
    while (m.find()) {
      String name = m.group(1);
      if (!name.equals("identity") && !META.matcher(name).matches()) {
        throw KeywardenException.invalid(field + ": unknown placeholder '{{" + Inputs.quoted(name)
            + "}}'; use {{identity}} or {{meta.KEY}}");
      }
      if (template.substring(end, m.start()).contains("{{")) {
        throw KeywardenException.invalid(field + ": '" + Inputs.quoted(template) + "' has an unclosed '{{'");
      }
      end = m.end();
    }
    if (template.substring(end).contains("{{")) {
      throw KeywardenException.invalid(field + ": '" + Inputs.quoted(template) + "' has an unclosed '{{'");
    }
    return template;
  }

  /** The template with the caller's values in; INVALID_ARGUMENT naming {@code rule} when a value is missing. */
  static String render(String template, JwtIdentity caller, String rule) {
    return render(template, caller, rule, false);
  }

  /** The template rendered as a glob: the caller's values may not hold '*'. */
  static Glob glob(String template, JwtIdentity caller, String rule) {
    return Glob.of(render(template, caller, rule, true));
  }

  private static String render(String template, JwtIdentity caller, String rule, boolean glob) {
    if (!template.contains("{{")) {
      return template;
    }
    Matcher m = PLACEHOLDER.matcher(template);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(1);
      String value;
      if (name.equals("identity")) {
        value = caller.name();
      } else {
        value = caller.metadata().get(name.substring("meta.".length()));
        if (value == null) {
          throw KeywardenException.invalid(rule + " uses {{" + name + "}}, but the caller's identity has no"
              + " metadata '" + Inputs.quoted(name.substring("meta.".length())) + "'");
        }
      }
      if (glob && value.indexOf('*') >= 0) {
        throw KeywardenException.invalid(rule + " puts {{" + name + "}} into a glob, and the caller's value '"
            + Inputs.quoted(value) + "' holds '*', which would be read as a wildcard");
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }
}
