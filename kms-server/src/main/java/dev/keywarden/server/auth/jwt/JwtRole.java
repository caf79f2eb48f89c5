package dev.keywarden.server.auth.jwt;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.nimbusds.jose.JWSAlgorithm;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.auth.Policy;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A jwt role: which JWTs it accepts (issuer, where the issuer's keys come from, audiences, subject and claim globs,
 * algorithms, clock skew) and what a login gets (policies, token lifetime). Validated on construction, so a role in
 * hand, written or read back, is always usable. Stored as this record's JSON by {@link JwtRoleRecords}.
 *
 * @param jwksUrl, oidcDiscoveryUrl, staticJwks, staticPems the key source: exactly one of a JWKS URL, an OIDC issuer
 *     URL, or static keys (a JWK Set document and/or PEM public keys)
 * @param clockSkewSeconds tolerance for exp/nbf/iat
 * @param tokenTtlSeconds the login token's lifetime, cut to the JWT's exp unless {@code tokenOutlivesJwt}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record JwtRole(
    @JsonProperty("issuer") String issuer,
    @JsonProperty("jwks_url") String jwksUrl,
    @JsonProperty("oidc_discovery_url") String oidcDiscoveryUrl,
    @JsonProperty("static_jwks") String staticJwks,
    @JsonProperty("static_pems") List<String> staticPems,
    @JsonProperty("jwks_ca_pem") String jwksCaPem,
    @JsonProperty("bound_audiences") List<String> boundAudiences,
    @JsonProperty("bound_subject") String boundSubject,
    @JsonProperty("bound_claims") List<ClaimBinding> boundClaims,
    @JsonProperty("allowed_algorithms") List<String> allowedAlgorithms,
    @JsonProperty("clock_skew_seconds") long clockSkewSeconds,
    @JsonProperty("policies") List<String> policies,
    @JsonProperty("token_ttl_seconds") long tokenTtlSeconds,
    @JsonProperty("token_outlives_jwt") boolean tokenOutlivesJwt) {

  /** The algorithms a role may accept, by their JOSE names. None of "none" or HS*: they are never accepted. */
  public static final Map<String, JWSAlgorithm> SUPPORTED = Map.of("ES256", JWSAlgorithm.ES256,
      "ES384", JWSAlgorithm.ES384, "EdDSA", JWSAlgorithm.EdDSA, "RS256", JWSAlgorithm.RS256,
      "PS256", JWSAlgorithm.PS256);
  /** Accepted when a role names none. */
  public static final List<String> DEFAULT_ALGORITHMS = List.of("ES256", "ES384", "EdDSA", "RS256", "PS256");
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
  public static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(5);
  public static final Duration DEFAULT_TOKEN_TTL = Duration.ofHours(1);
  public static final Duration MAX_TOKEN_TTL = Duration.ofHours(24);
  static final int MAX_TEXT = 1024;
  static final int MAX_URL = 2048;
  static final int MAX_LIST = 64;

  public JwtRole {
    if (issuer == null || issuer.isEmpty()) {
      throw KeywardenException.invalid("issuer is required: the exact \"iss\" of the JWTs this role accepts");
    }
    Inputs.maxChars("issuer", issuer, MAX_TEXT);
    jwksUrl = blankToNull(jwksUrl);
    oidcDiscoveryUrl = blankToNull(oidcDiscoveryUrl);
    staticJwks = blankToNull(staticJwks);
    staticPems = staticPems == null ? List.of() : List.copyOf(staticPems);
    boolean hasStatic = staticJwks != null || !staticPems.isEmpty();
    int sources = (jwksUrl != null ? 1 : 0) + (oidcDiscoveryUrl != null ? 1 : 0) + (hasStatic ? 1 : 0);
    if (sources != 1) {
      throw KeywardenException.invalid("give exactly one key source: jwks_url, oidc_discovery_url or static_keys"
          + " (got " + sources + ")");
    }
    if (jwksUrl != null) {
      checkUrl("jwks_url", jwksUrl);
    }
    if (oidcDiscoveryUrl != null) {
      checkUrl("oidc_discovery_url", oidcDiscoveryUrl);
    }
    if (staticJwks != null) {
      JwksDocument.parse(staticJwks, "static_keys.jwks");
    }
    if (staticPems.size() > MAX_LIST) {
      throw KeywardenException.invalid("static_keys.public_key_pems: at most " + MAX_LIST + " keys");
    }
    for (int i = 0; i < staticPems.size(); i++) {
      PemPublicKeys.parse(staticPems.get(i), "static_keys.public_key_pems[" + i + "]");
    }
    if (hasStatic && staticKeyCount(staticJwks, staticPems) == 0) {
      throw KeywardenException.invalid("static_keys holds no public signing key");
    }
    jwksCaPem = blankToNull(jwksCaPem);
    if (jwksCaPem != null) {
      if (hasStatic) {
        throw KeywardenException.invalid("jwks_ca_pem is for fetching keys; static_keys are not fetched");
      }
      JwksFetcher.trustedCertificates(jwksCaPem);
    }
    boundAudiences = boundAudiences == null ? List.of() : List.copyOf(new LinkedHashSet<>(boundAudiences));
    if (boundAudiences.isEmpty()) {
      throw KeywardenException.invalid("bound_audiences: name at least one audience; a JWT's \"aud\" must contain one"
          + " of them (so a JWT minted for another service does not log in here)");
    }
    checkList("bound_audiences", boundAudiences);
    boundSubject = blankToNull(boundSubject);
    Inputs.maxChars("bound_subject", boundSubject, MAX_TEXT);
    boundClaims = boundClaims == null ? List.of() : List.copyOf(boundClaims);
    if (boundClaims.size() > MAX_LIST) {
      throw KeywardenException.invalid("bound_claims: at most " + MAX_LIST + " claims");
    }
    allowedAlgorithms = allowedAlgorithms == null || allowedAlgorithms.isEmpty() ? DEFAULT_ALGORITHMS
        : List.copyOf(new LinkedHashSet<>(allowedAlgorithms));
    for (String a : allowedAlgorithms) {
      if (!SUPPORTED.containsKey(a)) {
        throw KeywardenException.invalid("allowed_algorithms: '" + Inputs.quoted(a) + "' is not accepted; choose from "
            + DEFAULT_ALGORITHMS + " (\"none\" and HMAC algorithms are never accepted)");
      }
    }
    if (clockSkewSeconds == 0) {
      clockSkewSeconds = DEFAULT_CLOCK_SKEW.toSeconds();
    }
    if (clockSkewSeconds < 0 || clockSkewSeconds > MAX_CLOCK_SKEW.toSeconds()) {
      throw KeywardenException.invalid("clock_skew must be between 1s and " + MAX_CLOCK_SKEW.toSeconds() + "s");
    }
    policies = policies == null ? List.of() : List.copyOf(new LinkedHashSet<>(policies));
    if (policies.isEmpty()) {
      throw KeywardenException.invalid("policies: name at least one policy for the tokens a login gets");
    }
    if (policies.size() > MAX_LIST) {
      throw KeywardenException.invalid("policies: at most " + MAX_LIST);
    }
    for (String p : policies) {
      Policy.validateName(p);
      if (Policy.ROOT.equals(p)) {
        throw KeywardenException.invalid("policies: a login never gets the 'root' policy");
      }
    }
    if (tokenTtlSeconds == 0) {
      tokenTtlSeconds = DEFAULT_TOKEN_TTL.toSeconds();
    }
    if (tokenTtlSeconds < 0 || tokenTtlSeconds > MAX_TOKEN_TTL.toSeconds()) {
      throw KeywardenException.invalid("token_ttl must be between 1s and " + MAX_TOKEN_TTL.toHours() + "h");
    }
  }

  /** Whether the keys are fetched (a JWKS URL or OIDC discovery) rather than held in the role. */
  @JsonIgnore
  public boolean fetchesKeys() {
    return jwksUrl != null || oidcDiscoveryUrl != null;
  }

  @JsonIgnore
  public Duration clockSkew() {
    return Duration.ofSeconds(clockSkewSeconds);
  }

  @JsonIgnore
  public Duration tokenTtl() {
    return Duration.ofSeconds(tokenTtlSeconds);
  }

  /** The accepted algorithms as Nimbus's. */
  @JsonIgnore
  public Set<JWSAlgorithm> algorithms() {
    Set<JWSAlgorithm> all = new LinkedHashSet<>();
    allowedAlgorithms.forEach(a -> all.add(SUPPORTED.get(a)));
    return all;
  }

  /** Keys are public, so a role prints whole; the CA and key documents are shortened. */
  @Override
  public String toString() {
    return "JwtRole[issuer=" + issuer + ", jwksUrl=" + jwksUrl + ", oidcDiscoveryUrl=" + oidcDiscoveryUrl
        + ", staticKeys=" + (staticJwks != null || !staticPems.isEmpty()) + ", audiences=" + boundAudiences
        + ", subject=" + boundSubject + ", claims=" + boundClaims + ", algorithms=" + allowedAlgorithms
        + ", policies=" + policies + ", ttl=" + tokenTtlSeconds + "s]";
  }

  private static int staticKeyCount(String jwks, List<String> pems) {
    return (jwks == null ? 0 : JwksDocument.parse(jwks, "static_keys.jwks").size()) + pems.size();
  }

  private static void checkList(String field, List<String> values) {
    if (values.size() > MAX_LIST) {
      throw KeywardenException.invalid(field + ": at most " + MAX_LIST);
    }
    for (String v : values) {
      if (v == null || v.isEmpty()) {
        throw KeywardenException.invalid(field + ": empty entry");
      }
      Inputs.maxChars(field + " entry", v, MAX_TEXT);
    }
  }

  /**
   * https, or plain http to a loopback address only (a local test issuer, a node-local agent): keys fetched in the
   * clear over a network could be swapped by anyone on the path.
   */
  static URI checkUrl(String field, String url) {
    Inputs.maxChars(field, url, MAX_URL);
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw KeywardenException.invalid(field + " is not a URL: '" + Inputs.quoted(url) + "'");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
    if (uri.getHost() == null || !(scheme.equals("https") || scheme.equals("http"))) {
      throw KeywardenException.invalid(field + " must be an https URL with a host: '" + Inputs.quoted(url) + "'");
    }
    if (scheme.equals("http") && !loopback(uri.getHost())) {
      throw KeywardenException.invalid(field + ": plain http is allowed only to a loopback address; use https for '"
          + Inputs.quoted(url) + "'");
    }
    if (uri.getUserInfo() != null) {
      throw KeywardenException.invalid(field + " must not carry credentials");
    }
    return uri;
  }

  private static boolean loopback(String host) {
    String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    return h.equalsIgnoreCase("localhost") || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1")
        || h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
