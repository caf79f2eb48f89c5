package dev.keywarden.jwt;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.nimbusds.jose.JWSAlgorithm;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The JWS algorithms a JWT key signs with (RFC 7518 / RFC 8037 names); never {@code none} nor HMAC. */
public enum JwtAlgorithm {
  ES256("ES256", JWSAlgorithm.ES256, SignatureAlgorithm.ECDSA_SHA256),
  ES384("ES384", JWSAlgorithm.ES384, SignatureAlgorithm.ECDSA_SHA384),
  EDDSA("EdDSA", JWSAlgorithm.EdDSA, SignatureAlgorithm.ED25519),
  RS256("RS256", JWSAlgorithm.RS256, SignatureAlgorithm.RSA_PKCS1_SHA256),
  PS256("PS256", JWSAlgorithm.PS256, SignatureAlgorithm.RSA_PSS_SHA256);

  /** RSA modulus sizes a key may have; 2048 unless asked. */
  static final int[] RSA_BITS = {2048, 3072, 4096};

  private final String jwsName;
  private final JWSAlgorithm jws;
  private final SignatureAlgorithm signature;

  JwtAlgorithm(String jwsName, JWSAlgorithm jws, SignatureAlgorithm signature) {
    this.jwsName = jwsName;
    this.jws = jws;
    this.signature = signature;
  }

  /** The name in a JWS header's {@code alg} and a JWK's {@code alg}, e.g. "ES256", "EdDSA". */
  @JsonValue
  public String jwsName() {
    return jwsName;
  }

  /** Nimbus's constant for it. */
  public JWSAlgorithm jws() {
    return jws;
  }

  /** The signature an {@code HsmSigner} makes for it (ECDSA in DER, transcoded to JWS's r‖s when encoding). */
  public SignatureAlgorithm signature() {
    return signature;
  }

  /** True for RS256 and PS256, whose keys have a modulus size setting. */
  public boolean isRsa() {
    return this == RS256 || this == PS256;
  }

  /** The key type of a version: the curve, or RSA of {@code rsaBits}. */
  KeyType keyType(int rsaBits) {
    return switch (this) {
      case ES256 -> KeyType.EC_P256;
      case ES384 -> KeyType.EC_P384;
      case EDDSA -> KeyType.ED25519;
      case RS256, PS256 -> switch (rsaBits) {
        case 3072 -> KeyType.RSA_3072;
        case 4096 -> KeyType.RSA_4096;
        default -> KeyType.RSA_2048;
      };
    };
  }

  /** Parses a JWS algorithm name (case as registered: "ES256", "EdDSA"); INVALID_ARGUMENT lists the known ones. */
  @JsonCreator
  public static JwtAlgorithm parse(String name) {
    for (JwtAlgorithm a : values()) {
      if (a.jwsName.equals(name)) {
        return a;
      }
    }
    throw KeywardenException.invalid("algorithm: '" + Inputs.quoted(String.valueOf(name))
        + "' is not a JWT signing algorithm here; known: "
        + Arrays.stream(values()).map(JwtAlgorithm::jwsName).collect(Collectors.joining(", "))
        + " (none and HMAC are never offered)");
  }
}
