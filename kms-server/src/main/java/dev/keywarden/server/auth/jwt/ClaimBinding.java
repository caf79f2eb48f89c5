package dev.keywarden.server.auth.jwt;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.Glob;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A claim a role binds and the globs its value must match. The path is a top-level claim name as it is, or, when it
 * starts with '/', an RFC 6901 JSON Pointer into nested claims ("/kubernetes.io/namespace"). A string value is
 * matched as it is, a number or boolean as its JSON text, a list when any element matches; an absent claim, null or
 * an object never matches.
 */
public record ClaimBinding(@JsonProperty("path") String path, @JsonProperty("values") List<String> values) {
  static final int MAX_PATH = 256;
  static final int MAX_VALUES = 64;
  static final int MAX_VALUE = 1024;

  public ClaimBinding {
    if (path == null || path.isEmpty() || path.equals("/")) {
      throw KeywardenException.invalid("bound_claims: a path names a claim (\"name\" or \"/nested/name\")");
    }
    Inputs.maxChars("bound_claims path", path, MAX_PATH);
    pointer(path);
    if (values == null || values.isEmpty()) {
      throw KeywardenException.invalid("bound_claims '" + Inputs.quoted(path) + "': give at least one value");
    }
    if (values.size() > MAX_VALUES) {
      throw KeywardenException.invalid("bound_claims '" + Inputs.quoted(path) + "': at most " + MAX_VALUES
          + " values");
    }
    values.forEach(v -> Inputs.maxChars("bound_claims value", v, MAX_VALUE));
    values = List.copyOf(values);
  }

  /** Whether the claims satisfy this binding. */
  boolean matches(Map<String, Object> claims) {
    Object value = resolve(claims);
    if (value instanceof List<?> list) {
      for (Object element : list) {
        if (matchesScalar(element)) {
          return true;
        }
      }
      return false;
    }
    return matchesScalar(value);
  }

  private boolean matchesScalar(Object value) {
    String text;
    if (value instanceof String s) {
      text = s;
    } else if (value instanceof Boolean || value instanceof Number) {
      text = scalarText(value);
    } else {
      return false;
    }
    for (String v : values) {
      if (Glob.of(v).matches(text)) {
        return true;
      }
    }
    return false;
  }

  /** A number as JSON writes it: 3 rather than 3.0 for whole numbers. */
  private static String scalarText(Object value) {
    if (value instanceof Double d && d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e15) {
      return Long.toString(d.longValue());
    }
    return String.valueOf(value);
  }

  private Object resolve(Map<String, Object> claims) {
    if (!path.startsWith("/")) {
      return claims.get(path);
    }
    Object at = claims;
    for (String name : pointer(path)) {
      if (!(at instanceof Map<?, ?> object)) {
        return null;
      }
      at = object.get(name);
    }
    return at;
  }

  /** The names along a JSON Pointer path; empty for a top-level name. */
  static List<String> pointer(String path) {
    List<String> names = new ArrayList<>();
    if (!path.startsWith("/")) {
      return names;
    }
    for (String raw : path.substring(1).split("/", -1)) {
      StringBuilder name = new StringBuilder();
      for (int i = 0; i < raw.length(); i++) {
        char c = raw.charAt(i);
        if (c != '~') {
          name.append(c);
          continue;
        }
        char next = i + 1 < raw.length() ? raw.charAt(i + 1) : 0;
        if (next != '0' && next != '1') {
          throw KeywardenException.invalid("bound_claims path '" + Inputs.quoted(path)
              + "': in a JSON Pointer '~' is followed by 0 ('~') or 1 ('/')");
        }
        name.append(next == '0' ? '~' : '/');
        i++;
      }
      names.add(name.toString());
    }
    return names;
  }
}
