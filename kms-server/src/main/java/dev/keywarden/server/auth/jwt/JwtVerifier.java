package dev.keywarden.server.auth.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.names.Glob;
import java.time.Clock;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

/**
 * Checks a JWT against a role, in this order: algorithm allowed, signature by one of the issuer's keys, then the
 * claims (issuer, time window within the clock skew, audience, subject, bound claims). Every refusal is
 * UNAUTHENTICATED naming the check that failed; claims are only looked at once the signature holds.
 */
final class JwtVerifier {
  private final IssuerKeys keys;
  private final Clock clock;

  JwtVerifier(IssuerKeys keys, Clock clock) {
    this.keys = keys;
    this.clock = clock;
  }

  /** What a login learned from a JWT that passed. */
  record Verified(String subject, String issuer, Instant expiresAt) {}

  Verified verify(JwtRole role, CompactJwt jwt) {
    if (!role.algorithms().contains(jwt.algorithm())) {
      throw refused("the JWT is signed with " + Inputs.quoted(jwt.algorithm().getName())
          + ", which the role does not allow (allowed: " + role.allowedAlgorithms() + ")");
    }
    List<JWK> candidates = keys.candidates(role, jwt.header());
    String kid = jwt.header().getKeyID();
    if (candidates.isEmpty()) {
      throw refused("no key of issuer '" + Inputs.quoted(role.issuer()) + "' fits the JWT (kid "
          + (kid == null ? "not set" : "'" + Inputs.quoted(kid) + "'") + ", alg " + jwt.algorithm()
          + (role.fetchesKeys() ? "), even after fetching the issuer's keys again" : ")"));
    }
    if (!signedByAny(jwt, candidates)) {
      throw refused("the JWT's signature does not verify with the issuer's key"
          + (kid == null ? "s" : " '" + Inputs.quoted(kid) + "'"));
    }
    return checkClaims(role, jwt.claims());
  }

  private static boolean signedByAny(CompactJwt jwt, List<JWK> candidates) {
    for (JWK key : candidates) {
      try {
        if (jwt.signed().verify(verifier(key))) {
          return true;
        }
      } catch (JOSEException | RuntimeException e) {
        // A key that cannot verify this algorithm (wrong curve, too short) is not the signer.
      }
    }
    return false;
  }

  private static JWSVerifier verifier(JWK key) throws JOSEException {
    if (key instanceof ECKey ec) {
      return new ECDSAVerifier(ec);
    }
    if (key instanceof RSAKey rsa) {
      return new RSASSAVerifier(rsa);
    }
    if (key instanceof OctetKeyPair okp) {
      return new Ed25519Verifier(okp);
    }
    throw new JOSEException("unsupported key type " + key.getKeyType());
  }

  private Verified checkClaims(JwtRole role, JWTClaimsSet claims) {
    if (!role.issuer().equals(claims.getIssuer())) {
      throw refused("the JWT's issuer '" + Inputs.quoted(String.valueOf(claims.getIssuer()))
          + "' is not the role's '" + Inputs.quoted(role.issuer()) + "'");
    }
    long now = clock.millis();
    long skew = role.clockSkew().toMillis();
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      throw refused("the JWT has no expiry (exp); only JWTs that expire are accepted");
    }
    if (now > exp.getTime() + skew) {
      throw refused("the JWT expired at " + exp.toInstant() + " (clock skew " + role.clockSkew().toSeconds() + "s)");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now + skew < nbf.getTime()) {
      throw refused("the JWT is not valid before " + nbf.toInstant() + " (clock skew "
          + role.clockSkew().toSeconds() + "s)");
    }
    Date iat = claims.getIssueTime();
    if (iat != null && now + skew < iat.getTime()) {
      throw refused("the JWT was issued in the future, at " + iat.toInstant() + " (clock skew "
          + role.clockSkew().toSeconds() + "s)");
    }
    List<String> audience = claims.getAudience();
    if (audience.stream().noneMatch(role.boundAudiences()::contains)) {
      throw refused("the JWT's audience " + quoted(audience) + " names none of the role's bound audiences "
          + role.boundAudiences());
    }
    String subject = claims.getSubject();
    if (role.boundSubject() != null && (subject == null || !Glob.of(role.boundSubject()).matches(subject))) {
      throw refused("the JWT's subject '" + Inputs.quoted(String.valueOf(subject)) + "' does not match the role's '"
          + Inputs.quoted(role.boundSubject()) + "'");
    }
    Map<String, Object> all = claims.toJSONObject();
    for (ClaimBinding binding : role.boundClaims()) {
      if (!binding.matches(all)) {
        throw refused("the JWT's claim '" + Inputs.quoted(binding.path()) + "' is missing or matches none of "
            + binding.values());
      }
    }
    return new Verified(subject == null ? "" : subject, claims.getIssuer(), exp.toInstant());
  }

  private static String quoted(List<String> values) {
    return values.stream().limit(8).map(v -> "'" + Inputs.quoted(v) + "'").toList().toString();
  }

  private static KeywardenException refused(String why) {
    return new KeywardenException(Kind.UNAUTHENTICATED, "JWT login refused: " + why);
  }
}
