package dev.keywarden.ssh;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import java.util.List;

/** Which subject keys a role takes: its allowed_user_key_types (empty: all but DSA) and min_rsa_bits. */
final class SshKeyRules {
  private SshKeyRules() {}

  /** Refuses a caller's key the role does not take, naming the rule. */
  static void check(SshRole role, SshPublicKeys.Parsed key) {
    String where = "public_key: role '" + role.name() + "' ";
    if (!allows(role.allowedUserKeyTypes(), key.family())) {
      throw KeywardenException.invalid(where + "takes only " + role.allowedUserKeyTypes() + " keys (allowed_user_key_types);"
          + " this is " + key.family().roleName());
    }
    if (key.family() == SshPublicKeys.Family.RSA && key.bits() < role.minRsaBits()) {
      throw KeywardenException.invalid(where + "takes RSA keys of at least " + role.minRsaBits()
          + " bits (min_rsa_bits); this one has " + key.bits());
    }
  }

  /** Refuses a key type the role would make for IssueSshKey but does not take. */
  static void checkIssuedType(String where, List<String> allowed, int minRsaBits, KeyType type) {
    SshPublicKeys.Family family = family(type);
    if (!allows(allowed, family)) {
      throw KeywardenException.invalid(where + type.typeName() + " keys are not in allowed_user_key_types "
          + allowed);
    }
    if (type.isRsa() && type.algorithm().bits() < minRsaBits) {
      throw KeywardenException.invalid(where + type.typeName() + " is below min_rsa_bits (" + minRsaBits + ")");
    }
  }

  static SshPublicKeys.Family family(KeyType type) {
    return switch (type.algorithm().family()) {
      case EDDSA -> SshPublicKeys.Family.ED25519;
      case EC -> SshPublicKeys.Family.ECDSA;
      case RSA -> SshPublicKeys.Family.RSA;
    };
  }

  private static boolean allows(List<String> allowed, SshPublicKeys.Family family) {
    return allowed.isEmpty() || allowed.contains(family.roleName());
  }
}
