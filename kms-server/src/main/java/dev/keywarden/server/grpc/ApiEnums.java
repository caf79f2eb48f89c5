package dev.keywarden.server.grpc;

import dev.keywarden.api.v1.CsrKeyFamily;
import dev.keywarden.api.v1.KeyPairType;
import dev.keywarden.hsm.KeyType;

/**
 * The one place each closed value set of the API maps to the engines: proto enum value ↔ engine value ↔ the name the
 * CLI and the deprecated string fields use. The gRPC services and the CLI read these tables; ApiEnumsTest checks that
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
}
