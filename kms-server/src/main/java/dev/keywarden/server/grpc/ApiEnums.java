package dev.keywarden.server.grpc;

import dev.keywarden.api.v1.CsrKeyFamily;
import dev.keywarden.api.v1.KeyPairType;
import dev.keywarden.api.v1.RevocationReason;
import dev.keywarden.api.v1.TransitKeyType;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import java.util.List;

/**
 * The one place each closed value set of the API maps to the engines: proto enum value, engine value and the name
 * the CLI and the deprecated string fields use. The gRPC services and the CLI read these tables; ApiEnumsTest checks that
 * every value maps and round-trips.
 */
public final class ApiEnums {
  private ApiEnums() {}

  /** Key pairs the HSM makes for PKI issuers and roles and SSH CAs and roles. */
  public static final EnumTable<KeyPairType, KeyType> KEY_PAIR_TYPE = EnumTable
      .<KeyPairType, KeyType>of(KeyPairType.class, KeyType::typeName, KeyType::parse)
      .pair(KeyPairType.KEY_PAIR_TYPE_EC_P256, KeyType.EC_P256)
      .pair(KeyPairType.KEY_PAIR_TYPE_EC_P384, KeyType.EC_P384)
      .pair(KeyPairType.KEY_PAIR_TYPE_ED25519, KeyType.ED25519)
      .pair(KeyPairType.KEY_PAIR_TYPE_RSA_2048, KeyType.RSA_2048)
      .pair(KeyPairType.KEY_PAIR_TYPE_RSA_3072, KeyType.RSA_3072)
      .pair(KeyPairType.KEY_PAIR_TYPE_RSA_4096, KeyType.RSA_4096)
      .build();

  /** Key algorithms a PKI role accepts in a CSR. */
  public static final EnumTable<CsrKeyFamily, dev.keywarden.pki.CsrKeyFamily> CSR_KEY_FAMILY = EnumTable
      .<CsrKeyFamily, dev.keywarden.pki.CsrKeyFamily>of(CsrKeyFamily.class, dev.keywarden.pki.CsrKeyFamily::familyName,
          dev.keywarden.pki.CsrKeyFamily::parse)
      .pair(CsrKeyFamily.CSR_KEY_FAMILY_EC, dev.keywarden.pki.CsrKeyFamily.EC)
      .pair(CsrKeyFamily.CSR_KEY_FAMILY_ED25519, dev.keywarden.pki.CsrKeyFamily.ED25519)
      .pair(CsrKeyFamily.CSR_KEY_FAMILY_RSA, dev.keywarden.pki.CsrKeyFamily.RSA)
      .build();

  /** Transit key types. */
  public static final EnumTable<TransitKeyType, dev.keywarden.transit.KeyType> TRANSIT_KEY_TYPE = EnumTable
      .<TransitKeyType, dev.keywarden.transit.KeyType>of(TransitKeyType.class, dev.keywarden.transit.KeyType::typeName,
          dev.keywarden.transit.KeyType::parse)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_AES256_GCM96, dev.keywarden.transit.KeyType.AES256_GCM96)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_CHACHA20_POLY1305, dev.keywarden.transit.KeyType.CHACHA20_POLY1305)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_AES256_GCM96_HSM, dev.keywarden.transit.KeyType.AES256_GCM96_HSM)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_ECDSA_P256, dev.keywarden.transit.KeyType.ECDSA_P256)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_ECDSA_P384, dev.keywarden.transit.KeyType.ECDSA_P384)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_ED25519, dev.keywarden.transit.KeyType.ED25519)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_RSA_2048, dev.keywarden.transit.KeyType.RSA_2048)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_RSA_3072, dev.keywarden.transit.KeyType.RSA_3072)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_RSA_4096, dev.keywarden.transit.KeyType.RSA_4096)
      .pair(TransitKeyType.TRANSIT_KEY_TYPE_HMAC, dev.keywarden.transit.KeyType.HMAC)
      .build();

  /** Digests for transit signing and HMAC. */
  public static final EnumTable<dev.keywarden.api.v1.HashAlgorithm, dev.keywarden.transit.crypto.HashAlgorithm>
      HASH_ALGORITHM = EnumTable.<dev.keywarden.api.v1.HashAlgorithm, dev.keywarden.transit.crypto.HashAlgorithm>of(
          dev.keywarden.api.v1.HashAlgorithm.class, dev.keywarden.transit.crypto.HashAlgorithm::wireName,
          dev.keywarden.transit.crypto.HashAlgorithm::parse)
      .pair(dev.keywarden.api.v1.HashAlgorithm.HASH_ALGORITHM_SHA2_256,
          dev.keywarden.transit.crypto.HashAlgorithm.SHA2_256)
      .pair(dev.keywarden.api.v1.HashAlgorithm.HASH_ALGORITHM_SHA2_384,
          dev.keywarden.transit.crypto.HashAlgorithm.SHA2_384)
      .pair(dev.keywarden.api.v1.HashAlgorithm.HASH_ALGORITHM_SHA2_512,
          dev.keywarden.transit.crypto.HashAlgorithm.SHA2_512)
      .build();

  /** RSA signature paddings. */
  public static final EnumTable<dev.keywarden.api.v1.RsaPadding, dev.keywarden.transit.crypto.RsaPadding>
      RSA_PADDING = EnumTable.<dev.keywarden.api.v1.RsaPadding, dev.keywarden.transit.crypto.RsaPadding>of(
          dev.keywarden.api.v1.RsaPadding.class, dev.keywarden.transit.crypto.RsaPadding::wireName,
          dev.keywarden.transit.crypto.RsaPadding::parse)
      .pair(dev.keywarden.api.v1.RsaPadding.RSA_PADDING_PSS, dev.keywarden.transit.crypto.RsaPadding.PSS)
      .pair(dev.keywarden.api.v1.RsaPadding.RSA_PADDING_PKCS1V15, dev.keywarden.transit.crypto.RsaPadding.PKCS1V15)
      .build();

  /** ECDSA signature encodings. */
  public static final EnumTable<dev.keywarden.api.v1.SignatureEncoding, dev.keywarden.transit.crypto.SignatureEncoding>
      SIGNATURE_ENCODING = EnumTable
      .<dev.keywarden.api.v1.SignatureEncoding, dev.keywarden.transit.crypto.SignatureEncoding>of(
          dev.keywarden.api.v1.SignatureEncoding.class, dev.keywarden.transit.crypto.SignatureEncoding::wireName,
          dev.keywarden.transit.crypto.SignatureEncoding::parse)
      .pair(dev.keywarden.api.v1.SignatureEncoding.SIGNATURE_ENCODING_DER,
          dev.keywarden.transit.crypto.SignatureEncoding.DER)
      .pair(dev.keywarden.api.v1.SignatureEncoding.SIGNATURE_ENCODING_JWS,
          dev.keywarden.transit.crypto.SignatureEncoding.JWS)
      .build();

  /** RFC 5280 CRLReason names as the CLI has them, indexed by code ("" for 7, which RFC 5280 leaves unused). */
  public static final List<String> REASON_NAMES = List.of("unspecified", "key-compromise", "ca-compromise",
      "affiliation-changed", "superseded", "cessation-of-operation", "certificate-hold", "", "remove-from-crl",
      "privilege-withdrawn", "aa-compromise");

  /** Revocation reasons: the engine keeps the RFC 5280 code; UNSPECIFIED is code 0, RFC 5280's unspecified. */
  public static final EnumTable<RevocationReason, Integer> REVOCATION_REASON = EnumTable
      .<RevocationReason, Integer>of(RevocationReason.class, REASON_NAMES::get, ApiEnums::reasonCode)
      .pair(RevocationReason.REVOCATION_REASON_UNSPECIFIED, 0)
      .pair(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE, 1)
      .pair(RevocationReason.REVOCATION_REASON_CA_COMPROMISE, 2)
      .pair(RevocationReason.REVOCATION_REASON_AFFILIATION_CHANGED, 3)
      .pair(RevocationReason.REVOCATION_REASON_SUPERSEDED, 4)
      .pair(RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION, 5)
      .pair(RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD, 6)
      .pair(RevocationReason.REVOCATION_REASON_REMOVE_FROM_CRL, 8)
      .pair(RevocationReason.REVOCATION_REASON_PRIVILEGE_WITHDRAWN, 9)
      .pair(RevocationReason.REVOCATION_REASON_AA_COMPROMISE, 10)
      .build();

  private static Integer reasonCode(String name) {
    int code = name.isEmpty() ? -1 : REASON_NAMES.indexOf(name);
    if (code < 0) {
      throw KeywardenException.invalid("reason: unknown reason '" + Inputs.quoted(name) + "'; known: "
          + String.join(", ", REASON_NAMES.stream().filter(r -> !r.isEmpty()).toList()));
    }
    return code;
  }
}
