package dev.keywarden.ssh;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.Cidr;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Names and values of certificate extensions and critical options (PROTOCOL.certkeys). OpenSSH's extensions take no
 * value; vendor ones are "name@domain" and may. The critical options are force-command (a command line),
 * source-address (a comma-separated list of CIDRs, host bits zero) and verify-required (no value).
 */
final class CertOptions {
  static final Set<String> EXTENSIONS = Set.of("permit-X11-forwarding", "permit-agent-forwarding",
      "permit-port-forwarding", "permit-pty", "permit-user-rc", "no-touch-required");
  static final String FORCE_COMMAND = "force-command";
  static final String SOURCE_ADDRESS = "source-address";
  static final String VERIFY_REQUIRED = "verify-required";
  static final Set<String> OPTIONS = Set.of(FORCE_COMMAND, SOURCE_ADDRESS, VERIFY_REQUIRED);
  static final int MAX_VALUE = 4096;
  static final int MAX_ENTRIES = 32;
  private static final int MAX_CIDRS = 64;
  private static final Pattern VENDOR = Pattern.compile("[A-Za-z0-9._-]{1,64}@[A-Za-z0-9.-]{1,128}");

  private CertOptions() {}

  /** Checks an extension name; returns it. */
  static String extensionName(String where, String name) {
    if (name == null || !(EXTENSIONS.contains(name) || VENDOR.matcher(name).matches())) {
      throw KeywardenException.invalid(where + "'" + Inputs.quoted(String.valueOf(name)) + "' is not an extension;"
          + " known: " + String.join(", ", new java.util.TreeSet<>(EXTENSIONS)) + ", or vendor ones as name@domain");
    }
    return name;
  }

  /** Checks extensions (names and values); returns them sorted by name. */
  static TreeMap<String, String> extensions(String where, Map<String, String> values) {
    TreeMap<String, String> out = new TreeMap<>();
    if (values == null) {
      return out;
    }
    if (values.size() > MAX_ENTRIES) {
      throw KeywardenException.invalid(where + values.size() + " extensions; at most " + MAX_ENTRIES);
    }
    values.forEach((name, value) -> {
      extensionName(where, name);
      String v = value == null ? "" : value;
      if (EXTENSIONS.contains(name) && !v.isEmpty()) {
        throw KeywardenException.invalid(where + name + " takes no value; got '" + Inputs.quoted(v) + "'");
      }
      printable(where + name + ": ", v);
      out.put(name, v);
    });
    return out;
  }

  /** Checks a critical option name; returns it. */
  static String optionName(String where, String name) {
    if (name == null || !OPTIONS.contains(name)) {
      throw KeywardenException.invalid(where + "'" + Inputs.quoted(String.valueOf(name))
          + "' is not a critical option; known: force-command, source-address, verify-required");
    }
    return name;
  }

  /** Checks critical options (names and values); returns them sorted by name. */
  static TreeMap<String, String> options(String where, Map<String, String> values) {
    TreeMap<String, String> out = new TreeMap<>();
    if (values == null) {
      return out;
    }
    values.forEach((name, value) -> out.put(optionName(where, name), optionValue(where, name,
        value == null ? "" : value)));
    return out;
  }

  static String optionValue(String where, String name, String value) {
    String at = where + name + ": ";
    switch (name) {
      case FORCE_COMMAND -> {
        if (value.isBlank()) {
          throw KeywardenException.invalid(at + "a command is required");
        }
        printable(at, value);
      }
      case SOURCE_ADDRESS -> {
        List<String> cidrs = List.of(value.split(",", -1));
        if (value.isEmpty() || cidrs.size() > MAX_CIDRS) {
          throw KeywardenException.invalid(at + "1 to " + MAX_CIDRS + " comma-separated CIDRs, e.g."
              + " 10.0.0.0/8,2001:db8::/32");
        }
        for (String c : cidrs) {
          Cidr.parse(at, c);
        }
      }
      default -> {
        if (!value.isEmpty()) {
          throw KeywardenException.invalid(at + "takes no value; got '" + Inputs.quoted(value) + "'");
        }
      }
    }
    return value;
  }

  private static void printable(String at, String v) {
    if (v.length() > MAX_VALUE || v.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw KeywardenException.invalid(at + "at most " + MAX_VALUE + " characters, no control characters");
    }
  }
}
