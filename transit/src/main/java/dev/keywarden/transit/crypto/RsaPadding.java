package dev.keywarden.transit.crypto;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.stream.Collectors;

/** RSA signature paddings, by the name users type. */
public enum RsaPadding {
  PKCS1V15("pkcs1v15"),
  PSS("pss");

  private final String wireName;

  RsaPadding(String wireName) {
    this.wireName = wireName;
  }

  /** The name users type, e.g. "pss". */
  public String wireName() {
    return wireName;
  }

  /** Parses a padding name; INVALID_ARGUMENT lists the known ones. */
  public static RsaPadding parse(String name) {
    for (RsaPadding p : values()) {
      if (p.wireName.equals(name)) {
        return p;
      }
    }
    throw KeywardenException.invalid("unknown RSA padding '" + Inputs.quoted(name) + "'; known: "
        + Arrays.stream(values()).map(RsaPadding::wireName).collect(Collectors.joining(", ")));
  }
}
