package dev.keywarden.pki;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;

/** Key algorithms a role may accept in a CSR; the strength floor is in the role (min_rsa_bits, min_ec_bits). */
public enum CsrKeyFamily {
  EC("ec"),
  ED25519("ed25519"),
  RSA("rsa");

  private final String familyName;

  CsrKeyFamily(String familyName) {
    this.familyName = familyName;
  }

  /** The name users type, e.g. "rsa". */
  @JsonValue
  public String familyName() {
    return familyName;
  }

  /** Parses "ec", "ed25519" or "rsa". */
  @JsonCreator
  public static CsrKeyFamily parse(String name) {
    for (CsrKeyFamily f : values()) {
      if (f.familyName.equals(name)) {
        return f;
      }
    }
    throw KeywardenException.invalid("csr_key_types: unknown key family '" + Inputs.quoted(String.valueOf(name))
        + "'; known: ec, ed25519, rsa");
  }
}
