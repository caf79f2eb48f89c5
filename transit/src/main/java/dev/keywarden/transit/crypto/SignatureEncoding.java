package dev.keywarden.transit.crypto;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.stream.Collectors;

/** ECDSA signature encodings: ASN.1 DER, or JWS / IEEE P1363 fixed-length r || s. */
public enum SignatureEncoding {
  DER("der"),
  JWS("jws");

  private final String wireName;

  SignatureEncoding(String wireName) {
    this.wireName = wireName;
  }

  /** The name users type, e.g. "jws". */
  public String wireName() {
    return wireName;
  }

  /** Parses an encoding name; INVALID_ARGUMENT lists the known ones. */
  public static SignatureEncoding parse(String name) {
    for (SignatureEncoding e : values()) {
      if (e.wireName.equals(name)) {
        return e;
      }
    }
    throw KeywardenException.invalid("unknown signature encoding '" + Inputs.quoted(name) + "'; known: "
        + Arrays.stream(values()).map(SignatureEncoding::wireName).collect(Collectors.joining(", ")));
  }
}
