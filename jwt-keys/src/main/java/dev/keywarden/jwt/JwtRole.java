package dev.keywarden.jwt;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.keywarden.encoding.DurationText;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What a caller may put in the tokens a key signs under this role. Globs are '*'-only, whole-value and
 * case-sensitive; every glob and the subject template may use {@code {{identity}}} and {@code {{meta.KEY}}}.
 * Validated on construction.
 *
 * @param name 1..128 of {@code A-Z a-z 0-9 . _ -}
 * @param key the JWT key this role signs with
 * @param allowedAudiences globs each {@code aud} value must match (at least one); when the caller sets no aud and
 *     there is exactly one, wildcard-free, it is the aud
 * @param subjectTemplate the {@code sub} the server sets (a caller's sub must equal it); empty when
 *     {@code allowedSubjects} is used instead; when both are empty it is {@code {{identity}}}
 * @param allowedSubjects globs the caller's {@code sub} (then required) must match
 * @param allowedClaims custom claims a caller may set, by name, each with the globs its value must match (a number or
 *     boolean as its JSON text, every element of a list); registered claims may not be named here
 * @param maxTtl the longest token lifetime (default 15 min); cut to the key's max_token_ttl when signing
 * @param allowFutureNbf whether a caller may set {@code nbf} (from the issue time up to before exp)
 */
public record JwtRole(
    @JsonProperty("name") String name,
    @JsonProperty("key") String key,
    @JsonProperty("allowed_audiences") List<String> allowedAudiences,
    @JsonProperty("subject_template") String subjectTemplate,
    @JsonProperty("allowed_subjects") List<String> allowedSubjects,
    @JsonProperty("allowed_claims") Map<String, List<String>> allowedClaims,
    @JsonProperty("max_ttl") @JsonSerialize(using = DurationText.Writer.class)
    @JsonDeserialize(using = DurationText.Reader.class) Duration maxTtl,
    @JsonProperty("allow_future_nbf") boolean allowFutureNbf) {

  /** Claims the server sets or only role rules decide; never in allowed_claims. */
  public static final Set<String> REGISTERED = Set.of("iss", "sub", "aud", "exp", "nbf", "iat", "jti");
  /** The default max_ttl. */
  public static final Duration DEFAULT_MAX_TTL = Duration.ofMinutes(15);
  static final int MAX_GLOBS = 64;
  static final int MAX_GLOB_CHARS = 256;
  static final int MAX_CLAIM_NAME_CHARS = 64;

  /** Validates every field and fills in defaults. */
  public JwtRole {
    Inputs.name("a JWT role name", name);
    String r = "role '" + name + "': ";
    Inputs.name(r + "key: a JWT key name", key);
    allowedAudiences = globs(r + "allowed_audiences", allowedAudiences);
    if (allowedAudiences.isEmpty()) {
      throw KeywardenException.invalid(r + "allowed_audiences: at least one is required, so a token is never good"
          + " for every service");
    }
    allowedSubjects = globs(r + "allowed_subjects", allowedSubjects);
    subjectTemplate = subjectTemplate == null ? "" : subjectTemplate;
    if (!subjectTemplate.isEmpty() && !allowedSubjects.isEmpty()) {
      throw KeywardenException.invalid(r + "set subject_template or allowed_subjects, not both");
    }
    if (subjectTemplate.isEmpty() && allowedSubjects.isEmpty()) {
      subjectTemplate = "{{identity}}";
    }
    if (!subjectTemplate.isEmpty()) {
      text(r + "subject_template", subjectTemplate);
      RoleTemplate.check(r + "subject_template", subjectTemplate);
    }
    Map<String, List<String>> claims = new TreeMap<>();
    if (allowedClaims != null) {
      if (allowedClaims.size() > MAX_GLOBS) {
        throw KeywardenException.invalid(r + "allowed_claims: at most " + MAX_GLOBS + " claims");
      }
      for (Map.Entry<String, List<String>> e : allowedClaims.entrySet()) {
        String claim = e.getKey();
        if (claim == null || claim.isEmpty() || claim.length() > MAX_CLAIM_NAME_CHARS
            || !claim.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
          throw KeywardenException.invalid(r + "allowed_claims: '" + Inputs.quoted(String.valueOf(claim))
              + "' is not a claim name: 1 to " + MAX_CLAIM_NAME_CHARS + " printable ASCII characters, no spaces");
        }
        if (REGISTERED.contains(claim)) {
          throw KeywardenException.invalid(r + "allowed_claims: '" + claim + "' is a registered claim: iss, iat,"
              + " exp and jti are set by the server, sub by subject_template or allowed_subjects, aud by"
              + " allowed_audiences, nbf by allow_future_nbf");
        }
        List<String> values = globs(r + "allowed_claims." + claim, e.getValue());
        if (values.isEmpty()) {
          throw KeywardenException.invalid(r + "allowed_claims." + claim + ": give at least one glob ('*' for any"
              + " value)");
        }
        claims.put(claim, values);
      }
    }
    allowedClaims = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(claims));
    maxTtl = maxTtl == null ? DEFAULT_MAX_TTL : maxTtl;
    if (maxTtl.getNano() != 0 || maxTtl.getSeconds() < 1
        || maxTtl.compareTo(JwtKeySettings.LONGEST_TOKEN_TTL) > 0) {
      throw KeywardenException.invalid(r + "max_ttl: whole seconds from 1s to "
          + JwtKeySettings.LONGEST_TOKEN_TTL.toHours() + "h");
    }
  }

  /** A role for {@code key} with one allowed audience and every default: sub is the caller's identity. */
  public static Builder builder(String name, String key) {
    return new Builder(name, key);
  }

  private static List<String> globs(String field, List<String> globs) {
    if (globs == null) {
      return List.of();
    }
    if (globs.size() > MAX_GLOBS) {
      throw KeywardenException.invalid(field + ": at most " + MAX_GLOBS + " values");
    }
    List<String> out = new ArrayList<>();
    for (String g : globs) {
      text(field, g);
      RoleTemplate.check(field, g);
      if (!out.contains(g)) {
        out.add(g);
      }
    }
    return List.copyOf(out);
  }

  private static void text(String field, String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_GLOB_CHARS
        || value.chars().anyMatch(Character::isISOControl)) {
      throw KeywardenException.invalid(field + ": '" + Inputs.quoted(String.valueOf(value)) + "' must be 1 to "
          + MAX_GLOB_CHARS + " characters without control characters");
    }
  }

  /** Builds a role field by field; {@link #build()} validates. */
  public static final class Builder {
    private final String name;
    private final String key;
    private final List<String> audiences = new ArrayList<>();
    private String subjectTemplate;
    private final List<String> subjects = new ArrayList<>();
    private final Map<String, List<String>> claims = new LinkedHashMap<>();
    private Duration maxTtl;
    private boolean allowFutureNbf;

    private Builder(String name, String key) {
      this.name = name;
      this.key = key;
    }

    /** Adds allowed audience globs. */
    public Builder allowedAudiences(String... globs) {
      audiences.addAll(List.of(globs));
      return this;
    }

    /** Sets the subject template. */
    public Builder subjectTemplate(String template) {
      subjectTemplate = template;
      return this;
    }

    /** Adds allowed subject globs. */
    public Builder allowedSubjects(String... globs) {
      subjects.addAll(List.of(globs));
      return this;
    }

    /** Allows the custom claim {@code claim} with values matching any of {@code globs}. */
    public Builder allowClaim(String claim, String... globs) {
      claims.put(claim, List.of(globs));
      return this;
    }

    /** Sets max_ttl. */
    public Builder maxTtl(Duration ttl) {
      maxTtl = ttl;
      return this;
    }

    /** Sets allow_future_nbf. */
    public Builder allowFutureNbf(boolean allow) {
      allowFutureNbf = allow;
      return this;
    }

    /** The validated role. */
    public JwtRole build() {
      return new JwtRole(name, key, audiences, subjectTemplate, subjects, claims, maxTtl, allowFutureNbf);
    }
  }
}
