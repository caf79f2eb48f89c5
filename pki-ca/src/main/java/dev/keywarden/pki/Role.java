package dev.keywarden.pki;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keywarden.callerjson.CallerJson;
import dev.keywarden.encoding.DurationText;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.names.Cidr;
import dev.keywarden.names.DnsNames;
import dev.keywarden.names.UriSanRules;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What a role lets a client have in a certificate. Semantics follow Vault's PKI roles, stricter where noted in
 * {@link NameRules}. Every boolean is off unless set, so a role grants only what it names; at least one of
 * server_flag / client_flag must be on. The canonical constructor validates and names the wrong field; missing
 * values take their defaults (key_type ec-p256, csr_key_types all, min_rsa_bits 2048, min_ec_bits 256,
 * ttl min(24h, max_ttl), max_ttl = ttl, not_before_duration 30s).
 */
public record Role(
    @JsonProperty("name") String name,
    @JsonProperty("allowed_domains") List<String> allowedDomains,
    @JsonProperty("allow_subdomains") boolean allowSubdomains,
    @JsonProperty("allow_bare_domains") boolean allowBareDomains,
    @JsonProperty("allow_glob_domains") boolean allowGlobDomains,
    @JsonProperty("allow_wildcard") boolean allowWildcard,
    @JsonProperty("allow_localhost") boolean allowLocalhost,
    @JsonProperty("allow_ip_sans") boolean allowIpSans,
    @JsonProperty("allowed_ip_cidrs") List<String> allowedIpCidrs,
    @JsonProperty("allowed_uri_sans") List<String> allowedUriSans,
    @JsonProperty("server_flag") boolean serverFlag,
    @JsonProperty("client_flag") boolean clientFlag,
    @JsonProperty("key_type") KeyType keyType,
    @JsonProperty("csr_key_types") List<CsrKeyFamily> csrKeyTypes,
    @JsonProperty("min_rsa_bits") int minRsaBits,
    @JsonProperty("min_ec_bits") int minEcBits,
    @JsonProperty("ttl") @JsonSerialize(using = DurationText.Writer.class)
        @JsonDeserialize(using = DurationText.Reader.class) Duration ttl,
    @JsonProperty("max_ttl") @JsonSerialize(using = DurationText.Writer.class)
        @JsonDeserialize(using = DurationText.Reader.class) Duration maxTtl,
    @JsonProperty("not_before_duration") @JsonSerialize(using = DurationText.Writer.class)
        @JsonDeserialize(using = DurationText.Reader.class) Duration notBeforeDuration,
    @JsonProperty("organization") List<String> organization,
    @JsonProperty("ou") List<String> organizationalUnit,
    @JsonProperty("country") List<String> country,
    @JsonProperty("locality") List<String> locality,
    @JsonProperty("province") List<String> province,
    @JsonProperty("no_store") boolean noStore) {

  /** The default ttl, unless max_ttl is shorter. */
  public static final Duration DEFAULT_TTL = Duration.ofHours(24);
  /** How far back notBefore goes by default, for clients whose clocks run behind. */
  public static final Duration DEFAULT_NOT_BEFORE = Duration.ofSeconds(30);
  /** The floor for RSA keys in CSRs; a role may raise it, never lower it. */
  public static final int RSA_FLOOR_BITS = 2048;

  private static final Duration MAX_NOT_BEFORE = Duration.ofHours(24);
  private static final Pattern COUNTRY = Pattern.compile("[A-Z]{2}");
  private static final ObjectMapper JSON = CallerJson.mapper();

  /** Checks a role name (before it names a resource a policy is matched against); returns it. */
  public static String checkName(String name) {
    return Inputs.roleName(name);
  }

  public Role {
    checkName(name);
    String r = "role '" + name + "': ";
    allowedDomains = normalizeDomains(r, allowedDomains, allowGlobDomains);
    allowedIpCidrs = list(allowedIpCidrs);
    for (String c : allowedIpCidrs) {
      Cidr.parse(r + "allowed_ip_cidrs: ", c);
    }
    if (!allowedIpCidrs.isEmpty() && !allowIpSans) {
      throw KeywardenException.invalidField("allowed_ip_cidrs", r
          + "allowed_ip_cidrs is set but allow_ip_sans is off");
    }
    allowedUriSans = list(allowedUriSans);
    for (String p : allowedUriSans) {
      UriSanRules.checkPattern(r + "allowed_uri_sans: ", p);
    }
    if (!serverFlag && !clientFlag) {
      throw KeywardenException.invalidField("server_flag", r
          + "at least one of server_flag, client_flag must be on");
    }
    keyType = keyType == null ? KeyType.EC_P256 : keyType;
    csrKeyTypes = csrKeyTypes == null || csrKeyTypes.isEmpty() ? List.of(CsrKeyFamily.values()) : List.copyOf(csrKeyTypes);
    minRsaBits = minRsaBits == 0 ? RSA_FLOOR_BITS : minRsaBits;
    if (minRsaBits < RSA_FLOOR_BITS || minRsaBits > 8192) {
      throw KeywardenException.invalidField("min_rsa_bits",
          r + "min_rsa_bits must be between " + RSA_FLOOR_BITS + " and 8192; got "
          + minRsaBits);
    }
    minEcBits = minEcBits == 0 ? 256 : minEcBits;
    if (minEcBits != 256 && minEcBits != 384) {
      throw KeywardenException.invalidField("min_ec_bits", r + "min_ec_bits must be 256 or 384; got " + minEcBits);
    }
    if (maxTtl != null && (maxTtl.isNegative() || maxTtl.isZero())) {
      throw KeywardenException.invalidField("max_ttl", r + "max_ttl must be positive");
    }
    if (ttl == null) {
      ttl = maxTtl != null && maxTtl.compareTo(DEFAULT_TTL) < 0 ? maxTtl : DEFAULT_TTL;
    }
    if (ttl.isNegative() || ttl.isZero()) {
      throw KeywardenException.invalidField("ttl", r + "ttl must be positive");
    }
    maxTtl = maxTtl == null ? ttl : maxTtl;
    if (ttl.compareTo(maxTtl) > 0) {
      throw KeywardenException.invalidField("ttl", r + "ttl (" + DurationText.format(ttl) + ") is above max_ttl ("
          + DurationText.format(maxTtl) + ")");
    }
    notBeforeDuration = notBeforeDuration == null ? DEFAULT_NOT_BEFORE : notBeforeDuration;
    if (notBeforeDuration.isNegative() || notBeforeDuration.compareTo(MAX_NOT_BEFORE) > 0) {
      throw KeywardenException.invalidField("not_before_duration",
          r + "not_before_duration must be between 0s and 24h; got "
          + DurationText.format(notBeforeDuration));
    }
    organization = attribute(r, "organization", organization);
    organizationalUnit = attribute(r, "ou", organizationalUnit);
    country = attribute(r, "country", country);
    for (String c : country) {
      if (!COUNTRY.matcher(c).matches()) {
        throw KeywardenException.invalidField("country", r + "country: '" + Inputs.quoted(c)
            + "' is not a two-letter upper-case ISO 3166 code");
      }
    }
    locality = attribute(r, "locality", locality);
    province = attribute(r, "province", province);
  }

  /** Reads a role from JSON (snake_case); INVALID_ARGUMENT names the wrong or unknown field. */
  public static Role fromJson(String json) {
    return CallerJson.read(JSON, "the role", json, Role.class);
  }

  /**
   * Reads a role from JSON for the role called {@code name}: a document without "name" (or with null) is that role;
   * one whose "name" differs is INVALID_ARGUMENT.
   */
  public static Role fromJson(String json, String name) {
    checkName(name);
    ObjectNode document = CallerJson.read(JSON, "the role", json, ObjectNode.class);
    JsonNode given = document.get("name");
    if (given == null || given.isNull()) {
      document.put("name", name);
    } else if (!given.isTextual() || !given.textValue().equals(name)) {
      throw KeywardenException.invalid("name: '" + name + "' differs from the \"name\" in the role JSON ('"
          + Inputs.quoted(given.isTextual() ? given.textValue() : given.toString()) + "'); leave it out or make them"
          + " equal");
    }
    return fromJson(document.toString());
  }

  /** This role as JSON with snake_case field names; {@link #fromJson} reads it back to an equal role. */
  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a role always serializes", e);
    }
  }

  /** A builder with every permission off and the defaults above, for code and tests. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  private static List<String> list(List<String> values) {
    if (values == null) {
      return List.of();
    }
    for (String v : values) {
      if (v == null) {
        throw KeywardenException.invalid("lists in a role may not hold null");
      }
    }
    return List.copyOf(values);
  }

  private static List<String> normalizeDomains(String r, List<String> domains, boolean glob) {
    List<String> out = new ArrayList<>();
    for (String d : list(domains)) {
      String prefix = r + "allowed_domains: ";
      if (d.indexOf('*') >= 0) {
        if (!glob) {
          throw KeywardenException.invalid(prefix + "'" + Inputs.quoted(d)
              + "' is a glob but allow_glob_domains is off");
        }
        out.add(DnsNames.checkGlob(prefix, d));
      } else {
        out.add(DnsNames.check(prefix, d));
      }
    }
    return List.copyOf(out);
  }

  private static List<String> attribute(String r, String field, List<String> values) {
    for (String v : list(values)) {
      if (v.isBlank() || v.length() > 64 || v.chars().anyMatch(Character::isISOControl)) {
        throw KeywardenException.invalidField(field, r + field + ": '" + Inputs.quoted(v)
            + "' must be 1 to 64 printable characters");
      }
    }
    return list(values);
  }

  /** Builds a {@link Role}; every permission is off until set. */
  public static final class Builder {
    private final String name;
    private List<String> allowedDomains = List.of();
    private boolean allowSubdomains;
    private boolean allowBareDomains;
    private boolean allowGlobDomains;
    private boolean allowWildcard;
    private boolean allowLocalhost;
    private boolean allowIpSans;
    private List<String> allowedIpCidrs = List.of();
    private List<String> allowedUriSans = List.of();
    private boolean serverFlag;
    private boolean clientFlag;
    private KeyType keyType;
    private List<CsrKeyFamily> csrKeyTypes;
    private int minRsaBits;
    private int minEcBits;
    private Duration ttl;
    private Duration maxTtl;
    private Duration notBeforeDuration;
    private List<String> organization = List.of();
    private List<String> organizationalUnit = List.of();
    private List<String> country = List.of();
    private List<String> locality = List.of();
    private List<String> province = List.of();
    private boolean noStore;

    private Builder(String name) {
      this.name = name;
    }

    public Builder allowedDomains(String... v) { allowedDomains = List.of(v); return this; }
    public Builder allowSubdomains(boolean v) { allowSubdomains = v; return this; }
    public Builder allowBareDomains(boolean v) { allowBareDomains = v; return this; }
    public Builder allowGlobDomains(boolean v) { allowGlobDomains = v; return this; }
    public Builder allowWildcard(boolean v) { allowWildcard = v; return this; }
    public Builder allowLocalhost(boolean v) { allowLocalhost = v; return this; }
    public Builder allowIpSans(boolean v) { allowIpSans = v; return this; }
    public Builder allowedIpCidrs(String... v) { allowedIpCidrs = List.of(v); return this; }
    public Builder allowedUriSans(String... v) { allowedUriSans = List.of(v); return this; }
    public Builder serverFlag(boolean v) { serverFlag = v; return this; }
    public Builder clientFlag(boolean v) { clientFlag = v; return this; }
    public Builder keyType(KeyType v) { keyType = v; return this; }
    public Builder csrKeyTypes(CsrKeyFamily... v) { csrKeyTypes = List.of(v); return this; }
    public Builder minRsaBits(int v) { minRsaBits = v; return this; }
    public Builder minEcBits(int v) { minEcBits = v; return this; }
    public Builder ttl(Duration v) { ttl = v; return this; }
    public Builder maxTtl(Duration v) { maxTtl = v; return this; }
    public Builder notBeforeDuration(Duration v) { notBeforeDuration = v; return this; }
    public Builder organization(String... v) { organization = List.of(v); return this; }
    public Builder organizationalUnit(String... v) { organizationalUnit = List.of(v); return this; }
    public Builder country(String... v) { country = List.of(v); return this; }
    public Builder locality(String... v) { locality = List.of(v); return this; }
    public Builder province(String... v) { province = List.of(v); return this; }
    public Builder noStore(boolean v) { noStore = v; return this; }

    /** The role, validated. */
    public Role build() {
      return new Role(name, allowedDomains, allowSubdomains, allowBareDomains, allowGlobDomains, allowWildcard,
          allowLocalhost, allowIpSans, allowedIpCidrs, allowedUriSans, serverFlag, clientFlag, keyType, csrKeyTypes,
          minRsaBits, minEcBits, ttl, maxTtl, notBeforeDuration, organization, organizationalUnit, country, locality,
          province, noStore);
    }
  }

  /** The domains, lower-cased, for messages. */
  String domainsShown() {
    return allowedDomains.stream().collect(Collectors.joining(", ", "[", "]"));
  }

  static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }
}
