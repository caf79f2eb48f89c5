package dev.keywarden.transit;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The key types of transit keyrings, by the name users type. */
public enum KeyType {
  AES256_GCM96("aes256-gcm96", Family.AEAD),
  CHACHA20_POLY1305("chacha20-poly1305", Family.AEAD),
  AES256_GCM96_HSM("aes256-gcm96-hsm", Family.AEAD),
  ECDSA_P256("ecdsa-p256", Family.SIGNING),
  ECDSA_P384("ecdsa-p384", Family.SIGNING),
  ED25519("ed25519", Family.SIGNING),
  RSA_2048("rsa-2048", Family.SIGNING),
  RSA_3072("rsa-3072", Family.SIGNING),
  RSA_4096("rsa-4096", Family.SIGNING),
  HMAC("hmac", Family.MAC);

  /** What a key type is for. */
  public enum Family { AEAD, SIGNING, MAC }

  private final String typeName;
  private final Family family;

  KeyType(String typeName, Family family) {
    this.typeName = typeName;
    this.family = family;
  }

  /** The name users type, e.g. "aes256-gcm96". */
  public String typeName() {
    return typeName;
  }

  public Family family() {
    return family;
  }

  /** True for types whose every version lives inside the HSM. */
  public boolean inHsm() {
    return this == AES256_GCM96_HSM;
  }

  /** Parses a type name; INVALID_ARGUMENT lists the known ones. */
  public static KeyType parse(String name) {
    for (KeyType t : values()) {
      if (t.typeName.equals(name)) {
        return t;
      }
    }
    throw KeywardenException.invalid("unknown key type '" + Inputs.quoted(name) + "'; known: "
        + Arrays.stream(values()).map(KeyType::typeName).collect(Collectors.joining(", ")));
  }
}
