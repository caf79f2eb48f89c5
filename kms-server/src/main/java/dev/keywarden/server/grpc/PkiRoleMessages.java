package dev.keywarden.server.grpc;

import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.KeyPairType;
import dev.keywarden.api.v1.PkiRole;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.pki.CsrKeyFamily;
import dev.keywarden.pki.Role;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** PKI roles between the API's {@link PkiRole} message and the engine's {@link Role}. */
public final class PkiRoleMessages {
  private PkiRoleMessages() {}

  /**
   * The engine role a WriteRole request's {@code role} describes, for the role called {@code name}: an empty
   * role.name takes it, a different one is INVALID_ARGUMENT. The engine checks every rule and names the field.
   */
  static Role fromProto(PkiRole p, String name) {
    if (!p.getName().isEmpty() && !p.getName().equals(name)) {
      throw KeywardenException.invalidField("role.name",
          "role.name: '" + Inputs.quoted(p.getName()) + "' differs from name ('"
          + name + "'); leave role.name empty or make them equal");
    }
    KeyType keyType = p.getKeyType() == KeyPairType.KEY_PAIR_TYPE_UNSPECIFIED ? null
        : ApiEnums.KEY_PAIR_TYPE.engine(p.getKeyType(), "role.key_type");
    List<CsrKeyFamily> csrKeyTypes = new ArrayList<>();
    for (int i = 0; i < p.getCsrKeyTypesCount(); i++) {
      csrKeyTypes.add(ApiEnums.CSR_KEY_FAMILY.engine(p.getCsrKeyTypes(i), "role.csr_key_types[" + i + "]"));
    }
    try {
      return role(p, name, keyType, csrKeyTypes);
    } catch (KeywardenException e) {
      // The engine names a role field as the role's JSON does; in a request it is under role.
      throw e.field() == null || e.field().startsWith("role.") ? e : e.withField("role." + e.field());
    }
  }

  private static Role role(PkiRole p, String name, KeyType keyType, List<CsrKeyFamily> csrKeyTypes) {
    return new Role(name, p.getAllowedDomainsList(), p.getAllowSubdomains(), p.getAllowBareDomains(),
        p.getAllowGlobDomains(), p.getAllowWildcard(), p.getAllowLocalhost(), p.getAllowIpSans(),
        p.getAllowedIpCidrsList(), p.getAllowedUriSansList(), p.getServerFlag(), p.getClientFlag(), keyType,
        csrKeyTypes, p.getMinRsaBits(), p.getMinEcBits(),
        p.hasTtl() ? duration(p.getTtl(), "role.ttl") : null,
        p.hasMaxTtl() ? duration(p.getMaxTtl(), "role.max_ttl") : null,
        p.hasNotBeforeDuration() ? duration(p.getNotBeforeDuration(), "role.not_before_duration") : null,
        p.getOrganizationList(), p.getOuList(), p.getCountryList(), p.getLocalityList(), p.getProvinceList(),
        p.getNoStore());
  }

  /** The role as the API shows it, defaults filled in. */
  static PkiRole toProto(Role r) {
    PkiRole.Builder b = PkiRole.newBuilder().setName(r.name()).addAllAllowedDomains(r.allowedDomains())
        .setAllowSubdomains(r.allowSubdomains()).setAllowBareDomains(r.allowBareDomains())
        .setAllowGlobDomains(r.allowGlobDomains()).setAllowWildcard(r.allowWildcard())
        .setAllowLocalhost(r.allowLocalhost()).setAllowIpSans(r.allowIpSans())
        .addAllAllowedIpCidrs(r.allowedIpCidrs()).addAllAllowedUriSans(r.allowedUriSans())
        .setServerFlag(r.serverFlag()).setClientFlag(r.clientFlag())
        .setKeyType(ApiEnums.KEY_PAIR_TYPE.proto(r.keyType())).setMinRsaBits(r.minRsaBits())
        .setMinEcBits(r.minEcBits()).setTtl(Durations.fromSeconds(r.ttl().getSeconds()))
        .setMaxTtl(Durations.fromSeconds(r.maxTtl().getSeconds()))
        .setNotBeforeDuration(Durations.fromSeconds(r.notBeforeDuration().getSeconds()))
        .addAllOrganization(r.organization()).addAllOu(r.organizationalUnit()).addAllCountry(r.country())
        .addAllLocality(r.locality()).addAllProvince(r.province()).setNoStore(r.noStore());
    r.csrKeyTypes().forEach(f -> b.addCsrKeyTypes(ApiEnums.CSR_KEY_FAMILY.proto(f)));
    return b.build();
  }

  /** A role as the CLI shows it: the engine's JSON, with the names users type ("ec-p256", "24h"). */
  public static String json(PkiRole role) {
    return fromProto(role, role.getName()).toJson();
  }

  /** A role duration: whole seconds, not negative (the engine checks the range each field allows). */
  private static Duration duration(com.google.protobuf.Duration d, String field) {
    if (!Durations.isValid(d) || d.getSeconds() < 0 || d.getNanos() != 0) {
      throw KeywardenException.invalidField(field, field + " must be a whole number of seconds, not negative");
    }
    return Duration.ofSeconds(d.getSeconds());
  }
}
