package dev.keywarden.failure;

import java.util.regex.Pattern;

/**
 * The one place caller input is bounded and quoted. Every engine and the server check names, text fields and byte
 * fields here, so a limit is the same on every operation that takes the field, and a message never echoes more than
 * {@link #QUOTE_LIMIT} characters of what the caller sent (a long echo overflows the HTTP/2 trailer a status rides in).
 */
public final class Inputs {
  /** The most characters of caller input a message shows. */
  public static final int QUOTE_LIMIT = 64;
  /** Names of keys, roles, policies: 1..128 of these characters, and never "." or "..". */
  public static final int MAX_NAME = 128;
  private static final Pattern FIELD_PATH = Pattern.compile("[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*");
  private static final Pattern ROLE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

  private Inputs() {}

  /**
   * Caller input made safe to put in a message: printable ASCII as it is, anything else as a \\uXXXX escape, cut
   * after {@link #QUOTE_LIMIT} characters with the number left out said. Never null.
   */
  public static String quoted(CharSequence s) {
    if (s == null) {
      return "";
    }
    int shown = Math.min(s.length(), QUOTE_LIMIT);
    StringBuilder b = new StringBuilder(shown + 24);
    for (int i = 0; i < shown; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x7f) {
        b.append(c);
      } else {
        b.append(String.format("\\u%04x", (int) c));
      }
    }
    if (s.length() > shown) {
      b.append("… (").append(s.length() - shown).append(" more characters)");
    }
    return b.toString();
  }

  /** Checks a name ({@code what} says of what, e.g. "a transit key name"); INVALID_ARGUMENT says what is allowed. */
  public static String name(String what, String value) {
    if (!isName(value)) {
      throw KeywardenException.invalid(what + " is 1.." + MAX_NAME + " letters, digits, '.', '_' or '-' (not '.' or"
          + " '..'), got '" + quoted(value) + "'");
    }
    return value;
  }

  /**
   * Whether {@code value} is 1..{@value #MAX_NAME} of {@code [A-Za-z0-9._-]} and neither "." nor "..": checked by hand,
   * as the gate asks it of a key name on every call.
   */
  static boolean isName(String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_NAME || value.equals(".") || value.equals("..")) {
      return false;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
          || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether {@code s} is well-formed UTF-16: every surrogate in a pair. A lone one has no UTF-8 form (Java writes '?'
   * for it), so two different strings would share the bytes stored, indexed or signed for them.
   */
  public static boolean wellFormedUnicode(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Checks a role name (PKI and SSH roles; before it names a resource a policy is matched against): 1 to 64 letters,
   * digits, '_' or '-', starting with a letter or digit. INVALID_ARGUMENT says so; returns it.
   */
  public static String roleName(String name) {
    if (name == null || !ROLE_NAME.matcher(name).matches()) {
      throw KeywardenException.invalid("name: a role name is 1 to 64 letters, digits, '_' or '-', starting with a"
          + " letter or digit; got '" + quoted(name) + "'");
    }
    return name;
  }

  /** Checks that a text field has at most {@code max} characters. */
  public static String maxChars(String field, String value, int max) {
    if (value != null && value.length() > max) {
      throw blamed(field, field + " is " + value.length() + " characters; the limit is " + max);
    }
    return value;
  }

  /** Checks that a byte field has at most {@code max} bytes. */
  public static byte[] maxBytes(String field, byte[] value, int max) {
    if (value != null && value.length > max) {
      throw blamed(field, field + " is " + value.length + " bytes; the limit is " + max + " bytes");
    }
    return value;
  }

  /** Checks a byte count without the bytes (e.g. a protobuf field's size before copying it). */
  public static void maxBytes(String field, int size, int max) {
    if (size > max) {
      throw blamed(field, field + " is " + size + " bytes; the limit is " + max + " bytes");
    }
  }

  /** INVALID_ARGUMENT blamed on {@code field} when it is a proto field path; some callers name a thing instead. */
  private static KeywardenException blamed(String field, String message) {
    KeywardenException e = KeywardenException.invalid(message);
    return field != null && FIELD_PATH.matcher(field).matches() ? e.withField(field) : e;
  }
}
