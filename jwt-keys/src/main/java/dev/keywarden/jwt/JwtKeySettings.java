package dev.keywarden.jwt;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * The settings of a JWT key. Validated on construction; null durations take their defaults.
 *
 * @param name 1..128 of {@code A-Z a-z 0-9 . _ -}
 * @param algorithm what every version signs with
 * @param rsaBits the modulus of RS256/PS256 versions (2048, 3072 or 4096; 0 means 2048); 0 for the others
 * @param software versions are software keys wrapped by the KEK instead of non-extractable HSM key pairs
 * @param issuer the {@code iss} of every token, an https URL (http only on a loopback host) without query, fragment
 *     or trailing slash, e.g. {@code https://kms.example/v1/jwt/NAME}; the discovery document and JWKS are served at
 *     {@code ISSUER/.well-known/openid-configuration} and {@code ISSUER/.well-known/jwks.json}
 * @param publishAhead how long a new version is in the JWKS before it signs (default 1 h, at most 7 days): at least
 *     as long as verifiers cache the JWKS
 * @param rotationPeriod how long a version signs before a scheduled rotation replaces it (at least 10 s); empty:
 *     only on demand
 * @param maxTokenTtl the longest lifetime of a token (default 15 min, at most 24 h); roles cannot exceed it
 * @param skew the clock skew allowed when verifying and added to how long a version stays verifiable (default 60 s,
 *     at most 5 min)
 */
public record JwtKeySettings(String name, JwtAlgorithm algorithm, int rsaBits, boolean software, String issuer,
    Duration publishAhead, Optional<Duration> rotationPeriod, Duration maxTokenTtl, Duration skew) {

  /** The default publish-ahead: one hour, the JWKS cache lifetime verifiers commonly use. */
  public static final Duration DEFAULT_PUBLISH_AHEAD = Duration.ofHours(1);
  /** The default and the longest lifetimes of tokens. */
  public static final Duration DEFAULT_MAX_TOKEN_TTL = Duration.ofMinutes(15);
  public static final Duration LONGEST_TOKEN_TTL = Duration.ofHours(24);
  /** The default and the largest clock skews. */
  public static final Duration DEFAULT_SKEW = Duration.ofSeconds(60);
  public static final Duration LARGEST_SKEW = Duration.ofMinutes(5);
  static final Duration LONGEST_PUBLISH_AHEAD = Duration.ofDays(7);
  /**
   * The shortest rotation period: a scheduled rotation happens at the server's next tick (every minute by default),
   * so shorter periods are for tests that run the tick every second; a late tick delays a version, never shortens its
   * publish-ahead.
   */
  static final Duration SHORTEST_ROTATION_PERIOD = Duration.ofSeconds(10);
  static final int MAX_ISSUER_CHARS = 512;

  /** Validates every field and fills in defaults. */
  public JwtKeySettings {
    Inputs.name("a JWT key name", name);
    if (algorithm == null) {
      throw KeywardenException.invalid("algorithm is missing; one of ES256, ES384, EdDSA, RS256, PS256");
    }
    if (algorithm.isRsa()) {
      rsaBits = rsaBits == 0 ? 2048 : rsaBits;
      if (rsaBits != 2048 && rsaBits != 3072 && rsaBits != 4096) {
        throw KeywardenException.invalid("rsa_bits: " + rsaBits + " is not 2048, 3072 or 4096");
      }
    } else if (rsaBits != 0) {
      throw KeywardenException.invalid("rsa_bits applies to RS256 and PS256 keys only; leave it 0 for "
          + algorithm.jwsName());
    }
    issuer = checkIssuer(issuer);
    publishAhead = within("publish_ahead", publishAhead, DEFAULT_PUBLISH_AHEAD, Duration.ZERO, LONGEST_PUBLISH_AHEAD);
    maxTokenTtl = within("max_token_ttl", maxTokenTtl, DEFAULT_MAX_TOKEN_TTL, Duration.ofSeconds(1),
        LONGEST_TOKEN_TTL);
    skew = within("skew", skew, DEFAULT_SKEW, Duration.ZERO, LARGEST_SKEW);
    rotationPeriod = rotationPeriod == null ? Optional.empty() : rotationPeriod;
    if (rotationPeriod.isPresent()) {
      Duration p = rotationPeriod.get();
      if (p.getNano() != 0 || p.compareTo(publishAhead) <= 0 || p.compareTo(SHORTEST_ROTATION_PERIOD) < 0) {
        throw KeywardenException.invalid("rotation_period: " + p.getSeconds() + "s must be whole seconds, at least "
            + SHORTEST_ROTATION_PERIOD.getSeconds() + "s and longer than publish_ahead (" + publishAhead.getSeconds()
            + "s): a version is published that long before it signs");
      }
    }
  }

  /** Settings with every default: software false, publish ahead 1 h, no scheduled rotation, 15 min, 60 s. */
  public static JwtKeySettings of(String name, JwtAlgorithm algorithm, String issuer) {
    return new JwtKeySettings(name, algorithm, 0, false, issuer, null, Optional.empty(), null, null);
  }

  /** These settings with software keys (true) or HSM key pairs (false). */
  public JwtKeySettings withSoftware(boolean software) {
    return new JwtKeySettings(name, algorithm, rsaBits, software, issuer, publishAhead, rotationPeriod, maxTokenTtl,
        skew);
  }

  /** These settings with another RSA modulus size. */
  public JwtKeySettings withRsaBits(int bits) {
    return new JwtKeySettings(name, algorithm, bits, software, issuer, publishAhead, rotationPeriod, maxTokenTtl,
        skew);
  }

  /** These settings with another publish-ahead. */
  public JwtKeySettings withPublishAhead(Duration d) {
    return new JwtKeySettings(name, algorithm, rsaBits, software, issuer, d, rotationPeriod, maxTokenTtl, skew);
  }

  /** These settings with a scheduled rotation period (empty: none). */
  public JwtKeySettings withRotationPeriod(Optional<Duration> d) {
    return new JwtKeySettings(name, algorithm, rsaBits, software, issuer, publishAhead, d, maxTokenTtl, skew);
  }

  /** These settings with another max token TTL. */
  public JwtKeySettings withMaxTokenTtl(Duration d) {
    return new JwtKeySettings(name, algorithm, rsaBits, software, issuer, publishAhead, rotationPeriod, d, skew);
  }

  /** These settings with another clock skew. */
  public JwtKeySettings withSkew(Duration d) {
    return new JwtKeySettings(name, algorithm, rsaBits, software, issuer, publishAhead, rotationPeriod, maxTokenTtl,
        d);
  }

  /** These settings with another issuer. */
  public JwtKeySettings withIssuer(String url) {
    return new JwtKeySettings(name, algorithm, rsaBits, software, url, publishAhead, rotationPeriod, maxTokenTtl,
        skew);
  }

  /** Where the JWKS is served: the issuer followed by {@code /.well-known/jwks.json}. */
  public String jwksUri() {
    return issuer + "/.well-known/jwks.json";
  }

  private static Duration within(String field, Duration d, Duration dflt, Duration min, Duration max) {
    Duration v = d == null ? dflt : d;
    if (v.getNano() != 0 || v.compareTo(min) < 0 || v.compareTo(max) > 0) {
      throw KeywardenException.invalid(field + ": " + (v.isNegative() ? "a negative duration" : v.getSeconds() + "s")
          + " is outside " + min.getSeconds() + "s.." + max.getSeconds() + "s (whole seconds)");
    }
    return v;
  }

  static String checkIssuer(String issuer) {
    if (issuer == null || issuer.isEmpty()) {
      throw KeywardenException.invalid("issuer is missing: the URL tokens name as iss, e.g."
          + " https://kms.example/v1/jwt/NAME");
    }
    Inputs.maxChars("issuer", issuer, MAX_ISSUER_CHARS);
    URI uri;
    try {
      uri = new URI(issuer);
    } catch (URISyntaxException e) {
      throw badIssuer(issuer, "it is not a URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!uri.isAbsolute() || uri.getHost() == null || uri.isOpaque()) {
      throw badIssuer(issuer, "it is not an absolute http(s) URL with a host");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
      throw badIssuer(issuer, "an issuer has no query, fragment or user info (OpenID Connect Discovery)");
    }
    if (issuer.endsWith("/")) {
      throw badIssuer(issuer, "leave out the trailing '/': the well-known paths are appended to it");
    }
    if (scheme.equals("http")) {
      if (!loopback(uri.getHost())) {
        throw badIssuer(issuer, "http is allowed only on a loopback host; use https");
      }
    } else if (!scheme.equals("https")) {
      throw badIssuer(issuer, "the scheme must be https");
    }
    return issuer;
  }

  private static boolean loopback(String host) {
    if (host.equalsIgnoreCase("localhost")) {
      return true;
    }
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (!h.matches("[0-9.]+|[0-9a-fA-F:]+")) {
      return false; // a name: never resolved here
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static KeywardenException badIssuer(String issuer, String why) {
    return KeywardenException.invalid("issuer: '" + Inputs.quoted(issuer) + "' is not usable: " + why);
  }
}
