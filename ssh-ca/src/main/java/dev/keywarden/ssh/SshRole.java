package dev.keywarden.ssh;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.keywarden.callerjson.CallerJson;
import dev.keywarden.encoding.DurationText;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.names.DnsNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a role lets a caller have in an SSH certificate. Everything is off unless the role turns it on: no
 * principals, extensions or critical options a role does not name, no empty principal list (OpenSSH reads that as
 * "any principal") unless allow_any_principal, no caller-chosen key id unless allow_user_key_ids. The canonical
 * constructor validates and names the wrong field; missing values take their defaults (ttl 1h for user roles and 24h
 * for host roles, or max_ttl if shorter; max_ttl = ttl; min_rsa_bits 2048; not_before_duration 30s; key_type
 * ed25519; key_id_template "{{role}}:{{identity}}").
 *
 * <p>User roles name principals in allowed_principals: literal names, '*' globs and {@code {{identity}}} /
 * {@code {{meta.KEY}}} templates. Host roles name hosts in allowed_domains with the PKI roles' rules
 * (allow_bare_domains, allow_subdomains, allow_glob_domains). Critical options named in default_critical_options are
 * always in the certificate; a request can set only those in allowed_critical_options, and never drop a default.
 */
public record SshRole(
    @JsonProperty("name") String name,
    @JsonProperty("cert_type") CertType certType,
    @JsonProperty("ca") String ca,
    @JsonProperty("allowed_principals") List<String> allowedPrincipals,
    @JsonProperty("default_principals") List<String> defaultPrincipals,
    @JsonProperty("allow_any_principal") boolean allowAnyPrincipal,
    @JsonProperty("allowed_domains") List<String> allowedDomains,
    @JsonProperty("allow_subdomains") boolean allowSubdomains,
    @JsonProperty("allow_bare_domains") boolean allowBareDomains,
    @JsonProperty("allow_glob_domains") boolean allowGlobDomains,
    @JsonProperty("ttl") @JsonSerialize(using = DurationText.Writer.class)
        @JsonDeserialize(using = DurationText.Reader.class) Duration ttl,
    @JsonProperty("max_ttl") @JsonSerialize(using = DurationText.Writer.class)
        @JsonDeserialize(using = DurationText.Reader.class) Duration maxTtl,
    @JsonProperty("allowed_extensions") List<String> allowedExtensions,
    @JsonProperty("default_extensions") Map<String, String> defaultExtensions,
    @JsonProperty("allowed_critical_options") List<String> allowedCriticalOptions,
    @JsonProperty("default_critical_options") Map<String, String> defaultCriticalOptions,
    @JsonProperty("allowed_user_key_types") List<String> allowedUserKeyTypes,
    @JsonProperty("min_rsa_bits") int minRsaBits,
    @JsonProperty("key_id_template") String keyIdTemplate,
    @JsonProperty("allow_user_key_ids") boolean allowUserKeyIds,
    @JsonProperty("not_before_duration") @JsonSerialize(using = DurationText.Writer.class)
        @JsonDeserialize(using = DurationText.Reader.class) Duration notBeforeDuration,
    @JsonProperty("no_store") boolean noStore,
    @JsonProperty("key_type") KeyType keyType) {

  public static final Duration DEFAULT_USER_TTL = Duration.ofHours(1);
  public static final Duration DEFAULT_HOST_TTL = Duration.ofHours(24);
  public static final Duration DEFAULT_NOT_BEFORE = Duration.ofSeconds(30);
  public static final String DEFAULT_KEY_ID_TEMPLATE = "{{role}}:{{identity}}";
  public static final int RSA_FLOOR_BITS = 2048;
  static final int MAX_PRINCIPAL = 256;
  static final int MAX_LIST = 256;
  private static final Duration MAX_NOT_BEFORE = Duration.ofHours(24);
  static final List<String> IDENTITY_VARIABLES = List.of("identity");
  static final List<String> KEY_ID_VARIABLES = List.of("identity", "role", "ca", "serial");
  private static final ObjectMapper JSON = CallerJson.mapper();

  /** Checks a role name (before it names a resource a policy is matched against); returns it. */
  public static String checkName(String name) {
    return Inputs.roleName(name);
  }

  public SshRole {
    checkName(name);
    String r = "role '" + name + "': ";
    if (certType == null) {
      throw KeywardenException.invalidField("cert_type", r + "cert_type is required: \"user\" or \"host\"");
    }
    if (ca != null) {
      SshEngine.checkCaName(r + "ca: ", ca);
    }
    allowedPrincipals = list(r, "allowed_principals", allowedPrincipals);
    defaultPrincipals = list(r, "default_principals", defaultPrincipals);
    for (String p : allowedPrincipals) {
      principalPattern(r + "allowed_principals: ", p, true);
    }
    for (String p : defaultPrincipals) {
      principalPattern(r + "default_principals: ", p, false);
    }
    allowedDomains = normalizeDomains(r, list(r, "allowed_domains", allowedDomains), allowGlobDomains);
    allowedExtensions = list(r, "allowed_extensions", allowedExtensions);
    for (String e : allowedExtensions) {
      CertOptions.extensionName(r + "allowed_extensions: ", e);
    }
    defaultExtensions = java.util.Collections.unmodifiableSortedMap(
        CertOptions.extensions(r + "default_extensions: ", defaultExtensions));
    for (String e : defaultExtensions.keySet()) {
      if (!allowedExtensions.contains(e)) {
        throw KeywardenException.invalidField("default_extensions",
            r + "default_extensions: '" + e + "' is not in allowed_extensions");
      }
    }
    allowedCriticalOptions = list(r, "allowed_critical_options", allowedCriticalOptions);
    for (String o : allowedCriticalOptions) {
      CertOptions.optionName(r + "allowed_critical_options: ", o);
    }
    defaultCriticalOptions = java.util.Collections.unmodifiableSortedMap(
        CertOptions.options(r + "default_critical_options: ", defaultCriticalOptions));
    if (certType == CertType.HOST) {
      if (!allowedPrincipals.isEmpty()) {
        throw KeywardenException.invalidField("allowed_principals",
            r + "allowed_principals is for user roles; a host role names its hosts in"
            + " allowed_domains");
      }
      if (!allowedExtensions.isEmpty() || !allowedCriticalOptions.isEmpty() || !defaultCriticalOptions.isEmpty()) {
        throw KeywardenException.invalid(r + "OpenSSH defines no extensions or critical options for host"
            + " certificates; leave allowed_extensions, default_extensions and the critical options unset");
      }
    } else if (!allowedDomains.isEmpty() || allowSubdomains || allowBareDomains || allowGlobDomains) {
      throw KeywardenException.invalidField("allowed_domains",
          r + "allowed_domains and its allow_* flags are for host roles; a user role"
          + " names its principals in allowed_principals");
    }
    allowedUserKeyTypes = list(r, "allowed_user_key_types", allowedUserKeyTypes);
    for (String t : allowedUserKeyTypes) {
      SshPublicKeys.Family.parse(r + "allowed_user_key_types", t);
    }
    minRsaBits = minRsaBits == 0 ? RSA_FLOOR_BITS : minRsaBits;
    if (minRsaBits < RSA_FLOOR_BITS || minRsaBits > SshPublicKeys.MAX_RSA_BITS) {
      throw KeywardenException.invalidField("min_rsa_bits",
          r + "min_rsa_bits must be between " + RSA_FLOOR_BITS + " and "
          + SshPublicKeys.MAX_RSA_BITS + "; got " + minRsaBits);
    }
    if (maxTtl != null && (maxTtl.isNegative() || maxTtl.isZero())) {
      throw KeywardenException.invalidField("max_ttl", r + "max_ttl must be positive");
    }
    if (ttl == null) {
      Duration d = certType == CertType.USER ? DEFAULT_USER_TTL : DEFAULT_HOST_TTL;
      ttl = maxTtl != null && maxTtl.compareTo(d) < 0 ? maxTtl : d;
    }
    if (ttl.isNegative() || ttl.isZero()) {
      throw KeywardenException.invalidField("ttl", r + "ttl must be positive");
    }
    maxTtl = maxTtl == null ? ttl : maxTtl;
    if (ttl.compareTo(maxTtl) > 0) {
      throw KeywardenException.invalidField("ttl", r + "ttl (" + DurationText.format(ttl) + ") is above max_ttl ("
          + DurationText.format(maxTtl) + ")");
    }
    keyIdTemplate = keyIdTemplate == null || keyIdTemplate.isEmpty() ? DEFAULT_KEY_ID_TEMPLATE : keyIdTemplate;
    if (keyIdTemplate.length() > MAX_PRINCIPAL || keyIdTemplate.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw KeywardenException.invalidField("key_id_template", r + "key_id_template: at most " + MAX_PRINCIPAL
          + " characters, no control characters");
    }
    Templates.check(r + "key_id_template: ", keyIdTemplate, KEY_ID_VARIABLES);
    notBeforeDuration = notBeforeDuration == null ? DEFAULT_NOT_BEFORE : notBeforeDuration;
    if (notBeforeDuration.isNegative() || notBeforeDuration.compareTo(MAX_NOT_BEFORE) > 0) {
      throw KeywardenException.invalidField("not_before_duration",
          r + "not_before_duration must be between 0s and 24h; got "
          + DurationText.format(notBeforeDuration));
    }
    keyType = keyType == null ? KeyType.ED25519 : keyType;
    SshKeyRules.checkIssuedType(r + "key_type: ", allowedUserKeyTypes, minRsaBits, keyType);
  }

  /** Reads a role from JSON (snake_case); INVALID_ARGUMENT names the wrong or unknown field. */
  public static SshRole fromJson(String json) {
    return CallerJson.read(JSON, "the role", json, SshRole.class);
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
  public static Builder builder(String name, CertType type) {
    return new Builder(name, type);
  }

  /** A principal pattern: printable ASCII, no spaces or commas; '*' only where {@code glob}. */
  private static void principalPattern(String where, String p, boolean glob) {
    if (p.isEmpty() || p.length() > MAX_PRINCIPAL || !p.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != ',')) {
      throw KeywardenException.invalid(where + "'" + Inputs.quoted(p) + "': 1 to " + MAX_PRINCIPAL
          + " printable ASCII characters, no spaces or commas");
    }
    if (!glob && p.indexOf('*') >= 0) {
      throw KeywardenException.invalid(where + "'" + Inputs.quoted(p) + "' is a glob; a default must be a name");
    }
    Templates.check(where, p, IDENTITY_VARIABLES);
  }

  private static List<String> list(String r, String field, List<String> values) {
    if (values == null) {
      return List.of();
    }
    if (values.size() > MAX_LIST) {
      throw KeywardenException.invalidField(field,
          r + field + " has " + values.size() + " entries; at most " + MAX_LIST);
    }
    for (String v : values) {
      if (v == null) {
        throw KeywardenException.invalidField(field, r + field + " may not hold null");
      }
    }
    return List.copyOf(values);
  }

  private static List<String> normalizeDomains(String r, List<String> domains, boolean glob) {
    List<String> out = new ArrayList<>();
    for (String d : domains) {
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

  /** Builds an {@link SshRole}; every permission is off until set. */
  public static final class Builder {
    private final String name;
    private final CertType certType;
    private String ca;
    private List<String> allowedPrincipals = List.of();
    private List<String> defaultPrincipals = List.of();
    private boolean allowAnyPrincipal;
    private List<String> allowedDomains = List.of();
    private boolean allowSubdomains;
    private boolean allowBareDomains;
    private boolean allowGlobDomains;
    private Duration ttl;
    private Duration maxTtl;
    private List<String> allowedExtensions = List.of();
    private Map<String, String> defaultExtensions = Map.of();
    private List<String> allowedCriticalOptions = List.of();
    private Map<String, String> defaultCriticalOptions = Map.of();
    private List<String> allowedUserKeyTypes = List.of();
    private int minRsaBits;
    private String keyIdTemplate;
    private boolean allowUserKeyIds;
    private Duration notBeforeDuration;
    private boolean noStore;
    private KeyType keyType;

    private Builder(String name, CertType certType) {
      this.name = name;
      this.certType = certType;
    }

    public Builder ca(String v) { ca = v; return this; }
    public Builder allowedPrincipals(String... v) { allowedPrincipals = List.of(v); return this; }
    public Builder defaultPrincipals(String... v) { defaultPrincipals = List.of(v); return this; }
    public Builder allowAnyPrincipal(boolean v) { allowAnyPrincipal = v; return this; }
    public Builder allowedDomains(String... v) { allowedDomains = List.of(v); return this; }
    public Builder allowSubdomains(boolean v) { allowSubdomains = v; return this; }
    public Builder allowBareDomains(boolean v) { allowBareDomains = v; return this; }
    public Builder allowGlobDomains(boolean v) { allowGlobDomains = v; return this; }
    public Builder ttl(Duration v) { ttl = v; return this; }
    public Builder maxTtl(Duration v) { maxTtl = v; return this; }
    public Builder allowedExtensions(String... v) { allowedExtensions = List.of(v); return this; }
    public Builder defaultExtensions(String... names) {
      Map<String, String> m = new LinkedHashMap<>();
      for (String n : names) {
        m.put(n, "");
      }
      defaultExtensions = m;
      return this;
    }
    public Builder allowedCriticalOptions(String... v) { allowedCriticalOptions = List.of(v); return this; }
    public Builder defaultCriticalOptions(Map<String, String> v) { defaultCriticalOptions = v; return this; }
    public Builder allowedUserKeyTypes(String... v) { allowedUserKeyTypes = List.of(v); return this; }
    public Builder minRsaBits(int v) { minRsaBits = v; return this; }
    public Builder keyIdTemplate(String v) { keyIdTemplate = v; return this; }
    public Builder allowUserKeyIds(boolean v) { allowUserKeyIds = v; return this; }
    public Builder notBeforeDuration(Duration v) { notBeforeDuration = v; return this; }
    public Builder noStore(boolean v) { noStore = v; return this; }
    public Builder keyType(KeyType v) { keyType = v; return this; }

    /** The role, validated. */
    public SshRole build() {
      return new SshRole(name, certType, ca, allowedPrincipals, defaultPrincipals, allowAnyPrincipal, allowedDomains,
          allowSubdomains, allowBareDomains, allowGlobDomains, ttl, maxTtl, allowedExtensions, defaultExtensions,
          allowedCriticalOptions, defaultCriticalOptions, allowedUserKeyTypes, minRsaBits, keyIdTemplate,
          allowUserKeyIds, notBeforeDuration, noStore, keyType);
    }
  }
}
