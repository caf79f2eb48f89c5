package dev.keywarden.hsm;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The asymmetric key types of every engine (CA keys, SSH CA keys, JWT keys, keys made for a caller), by the name users
 * type. One vocabulary: transit's names ({@code ecdsa-p256}) are accepted beside the PKI's ({@code ec-p256}), which
 * is what is written back.
 */
public enum KeyType {
  EC_P256("ec-p256", KeyPairAlgorithm.EC_P256, SignatureAlgorithm.ECDSA_SHA256, "ecdsa-p256"),
  EC_P384("ec-p384", KeyPairAlgorithm.EC_P384, SignatureAlgorithm.ECDSA_SHA384, "ecdsa-p384"),
  ED25519("ed25519", KeyPairAlgorithm.ED25519, SignatureAlgorithm.ED25519),
  RSA_2048("rsa-2048", KeyPairAlgorithm.RSA_2048, SignatureAlgorithm.RSA_PKCS1_SHA256),
  RSA_3072("rsa-3072", KeyPairAlgorithm.RSA_3072, SignatureAlgorithm.RSA_PKCS1_SHA256),
  RSA_4096("rsa-4096", KeyPairAlgorithm.RSA_4096, SignatureAlgorithm.RSA_PKCS1_SHA256);

  private final String typeName;
  private final KeyPairAlgorithm algorithm;
  private final SignatureAlgorithm signature;
  private final List<String> aliases;

  KeyType(String typeName, KeyPairAlgorithm algorithm, SignatureAlgorithm signature, String... aliases) {
    this.typeName = typeName;
    this.algorithm = algorithm;
    this.signature = signature;
    this.aliases = List.of(aliases);
  }

  /** The name users type and that is stored, e.g. "ec-p256". */
  @JsonValue
  public String typeName() {
    return typeName;
  }

  /** The key pair the HSM generates for this type. */
  public KeyPairAlgorithm algorithm() {
    return algorithm;
  }

  /** The signature a key of this type makes unless an engine asks for another (ECDSA's hash matches the curve). */
  public SignatureAlgorithm signatureAlgorithm() {
    return signature;
  }

  /** True for the RSA types. */
  public boolean isRsa() {
    return algorithm.family() == KeyPairAlgorithm.Family.RSA;
  }

  /** The type of an HSM key pair algorithm. */
  public static KeyType of(KeyPairAlgorithm algorithm) {
    for (KeyType t : values()) {
      if (t.algorithm == algorithm) {
        return t;
      }
    }
    throw new IllegalArgumentException("no key type for " + algorithm);
  }

  /** Parses a type name or alias; INVALID_ARGUMENT lists the known ones. */
  @JsonCreator
  public static KeyType parse(String name) {
    for (KeyType t : values()) {
      if (t.typeName.equals(name) || t.aliases.contains(name)) {
        return t;
      }
    }
    throw KeywardenException.invalid("key_type: unknown key type '" + Inputs.quoted(String.valueOf(name))
        + "'; known: " + Arrays.stream(values()).map(KeyType::typeName).collect(Collectors.joining(", ")));
  }

  /**
   * A key pair of this type made in software (JCA), for keys handed to a caller and never kept (PKI issue, SSH issue):
   * the caller zeroizes the private key's encoding once written out.
   */
  public KeyPair newSoftwareKeyPair(SecureRandom random) {
    try {
      KeyPairGenerator g;
      switch (algorithm.family()) {
        case EC -> {
          g = KeyPairGenerator.getInstance("EC");
          g.initialize(new ECGenParameterSpec(this == EC_P256 ? "secp256r1" : "secp384r1"), random);
        }
        case EDDSA -> {
          g = KeyPairGenerator.getInstance("Ed25519");
          g.initialize(java.security.spec.NamedParameterSpec.ED25519, random);
        }
        default -> {
          g = KeyPairGenerator.getInstance("RSA");
          g.initialize(new RSAKeyGenParameterSpec(algorithm.bits(), RSAKeyGenParameterSpec.F4), random);
        }
      }
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK cannot make " + typeName + " keys", e);
    }
  }
}
