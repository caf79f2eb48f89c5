package dev.keywarden.pki;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.stream.Collectors;

/** Key types the CA makes for a role when the client sends no CSR, by the name users type. */
public enum KeyType {
  EC_P256("ec-p256"),
  EC_P384("ec-p384"),
  ED25519("ed25519"),
  RSA_2048("rsa-2048"),
  RSA_3072("rsa-3072"),
  RSA_4096("rsa-4096");

  private final String typeName;

  KeyType(String typeName) {
    this.typeName = typeName;
  }

  /** The name users type, e.g. "ec-p256". */
  @JsonValue
  public String typeName() {
    return typeName;
  }

  /** True for the RSA types. */
  public boolean isRsa() {
    return name().startsWith("RSA");
  }

  /** Parses a type name; INVALID_ARGUMENT lists the known ones. */
  @JsonCreator
  public static KeyType parse(String name) {
    for (KeyType t : values()) {
      if (t.typeName.equals(name)) {
        return t;
      }
    }
    throw KeywardenException.invalid("key_type: unknown key type '" + Inputs.quoted(String.valueOf(name))
        + "'; known: " + Arrays.stream(values()).map(KeyType::typeName).collect(Collectors.joining(", ")));
  }
}
