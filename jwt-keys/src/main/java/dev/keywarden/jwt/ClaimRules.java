package dev.keywarden.jwt;

import com.nimbusds.jwt.JWTClaimsSet;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.Glob;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;

/**
 * Turns what a caller asked to put in a token into its claims under a role, or refuses with INVALID_ARGUMENT naming
 * the claim and the rule. The server's own claims (iss, iat, exp, jti) are never the caller's; sub, aud and nbf only
 * through the role's rules; any other claim only when the role names it and its value matches.
 */
final class ClaimRules {
  static final int MAX_CLAIMS = 64;
  static final int MAX_VALUE_CHARS = 1024;
  static final int MAX_LIST = 64;
  static final int MAX_AUDIENCES = 16;

  private ClaimRules() {}

  /** The times and id the server gives a token. */
  record ServerClaims(String issuer, long issuedAt, long expiresAt, String jwtId) {}

  static JWTClaimsSet claims(JwtRole role, JwtIdentity caller, Map<String, Object> requested, ServerClaims server) {
    Map<String, Object> asked = requested == null ? Map.of() : requested;
    String r = "role '" + role.name() + "'";
    if (asked.size() > MAX_CLAIMS) {
      throw KeywardenException.invalid("the request sets " + asked.size() + " claims; the limit is " + MAX_CLAIMS);
    }
    JWTClaimsSet.Builder b = new JWTClaimsSet.Builder()
        .issuer(server.issuer())
        .issueTime(new Date(server.issuedAt() * 1000))
        .expirationTime(new Date(server.expiresAt() * 1000))
        .jwtID(server.jwtId());
    for (String own : List.of("iss", "iat", "exp", "jti")) {
      if (asked.containsKey(own)) {
        throw KeywardenException.invalid("claim '" + own + "' is set by the server (iss is the key's issuer, iat and"
            + " exp come from the time and ttl, jti is random); leave it out");
      }
    }
    b.subject(subject(role, caller, asked.get("sub"), asked.containsKey("sub"), r));
    b.audience(audience(role, caller, asked.get("aud"), asked.containsKey("aud"), r));
    if (asked.containsKey("nbf")) {
      b.notBeforeTime(new Date(notBefore(role, asked.get("nbf"), server, r) * 1000));
    }
    for (Map.Entry<String, Object> e : asked.entrySet()) {
      String claim = e.getKey();
      if (claim == null) {
        throw KeywardenException.invalid("a claim has no name");
      }
      if (JwtRole.REGISTERED.contains(claim)) {
        continue;
      }
      List<String> globs = role.allowedClaims().get(claim);
      if (globs == null) {
        throw KeywardenException.invalid("claim '" + Inputs.quoted(claim) + "' is not allowed by " + r
            + "'s allowed_claims" + (role.allowedClaims().isEmpty() ? " (none are)"
                : " (allowed: " + String.join(", ", role.allowedClaims().keySet()) + ")"));
      }
      b.claim(claim, customValue(claim, e.getValue(), globs, caller, r + "'s allowed_claims." + claim));
    }
    return b.build();
  }

  private static String subject(JwtRole role, JwtIdentity caller, Object asked, boolean given, String r) {
    if (!role.allowedSubjects().isEmpty()) {
      if (!given) {
        throw KeywardenException.invalid("claim 'sub' is required by " + r + "'s allowed_subjects "
            + role.allowedSubjects());
      }
      String sub = string("sub", asked);
      for (String template : role.allowedSubjects()) {
        if (RoleTemplate.glob(template, caller, r + "'s allowed_subjects").matches(sub)) {
          return sub;
        }
      }
      throw KeywardenException.invalid("claim 'sub' '" + Inputs.quoted(sub) + "' is not matched by " + r
          + "'s allowed_subjects " + role.allowedSubjects());
    }
    String sub = RoleTemplate.render(role.subjectTemplate(), caller, r + "'s subject_template");
    if (given && !sub.equals(asked)) {
      throw KeywardenException.invalid("claim 'sub' is set by " + r + "'s subject_template '"
          + Inputs.quoted(role.subjectTemplate()) + "' (here '" + Inputs.quoted(sub) + "'); leave it out or give"
          + " exactly that");
    }
    return sub;
  }

  private static List<String> audience(JwtRole role, JwtIdentity caller, Object asked, boolean given, String r) {
    List<String> values = new ArrayList<>();
    if (!given) {
      String only = role.allowedAudiences().size() == 1 ? role.allowedAudiences().get(0) : null;
      if (only == null || only.indexOf('*') >= 0) {
        throw KeywardenException.invalid("claim 'aud' is required: " + r + " allows several audiences "
            + role.allowedAudiences() + "; name the one(s) the token is for");
      }
      return List.of(RoleTemplate.render(only, caller, r + "'s allowed_audiences"));
    }
    if (asked instanceof List<?> list) {
      if (list.isEmpty() || list.size() > MAX_AUDIENCES) {
        throw KeywardenException.invalid("claim 'aud': give 1 to " + MAX_AUDIENCES + " audiences, got " + list.size());
      }
      for (Object o : list) {
        values.add(string("aud", o));
      }
    } else {
      values.add(string("aud", asked));
    }
    List<Glob> allowed = role.allowedAudiences().stream()
        .map(t -> RoleTemplate.glob(t, caller, r + "'s allowed_audiences")).toList();
    for (String aud : values) {
      if (allowed.stream().noneMatch(g -> g.matches(aud))) {
        throw KeywardenException.invalid("claim 'aud' '" + Inputs.quoted(aud) + "' is not matched by " + r
            + "'s allowed_audiences " + role.allowedAudiences());
      }
    }
    return values.stream().distinct().toList();
  }

  private static long notBefore(JwtRole role, Object asked, ServerClaims server, String r) {
    if (!role.allowFutureNbf()) {
      throw KeywardenException.invalid("claim 'nbf' is not allowed: " + r + " has allow_future_nbf false");
    }
    Long nbf = wholeNumber(asked);
    if (nbf == null) {
      throw KeywardenException.invalid("claim 'nbf' must be a whole number of seconds since the epoch");
    }
    if (nbf < server.issuedAt() || nbf >= server.expiresAt()) {
      throw KeywardenException.invalid("claim 'nbf' " + nbf + " must be from the issue time " + server.issuedAt()
          + " up to before exp " + server.expiresAt() + " (" + r + "'s allow_future_nbf)");
    }
    return nbf;
  }

  private static Object customValue(String claim, Object value, List<String> templates, JwtIdentity caller,
      String rule) {
    List<Glob> globs = templates.stream().map(t -> RoleTemplate.glob(t, caller, rule)).toList();
    if (value instanceof List<?> list) {
      if (list.size() > MAX_LIST) {
        throw KeywardenException.invalid("claim '" + Inputs.quoted(claim) + "' is a list of " + list.size()
            + " values; the limit is " + MAX_LIST);
      }
      List<Object> out = new ArrayList<>(list.size());
      for (Object element : list) {
        out.add(scalar(claim, element, globs, templates, rule));
      }
      return out;
    }
    return scalar(claim, value, globs, templates, rule);
  }

  private static Object scalar(String claim, Object value, List<Glob> globs, List<String> templates, String rule) {
    Object normalized;
    String text;
    if (value instanceof String s) {
      normalized = s;
      text = s;
    } else if (value instanceof Boolean bool) {
      normalized = bool;
      text = bool.toString();
    } else if (value instanceof Number n) {
      Long whole = wholeNumber(n);
      if (whole != null) {
        normalized = whole;
        text = whole.toString();
      } else if (n instanceof Double || n instanceof Float) {
        double d = n.doubleValue();
        if (!Double.isFinite(d)) {
          throw KeywardenException.invalid("claim '" + Inputs.quoted(claim) + "' is not a finite number");
        }
        normalized = d;
        text = Double.toString(d);
      } else {
        throw KeywardenException.invalid("claim '" + Inputs.quoted(claim) + "' is a number out of range");
      }
    } else {
      throw KeywardenException.invalid("claim '" + Inputs.quoted(claim) + "' must be a string, number, boolean or"
          + " a list of those" + (value == null ? "; it is null" : ""));
    }
    if (text.length() > MAX_VALUE_CHARS) {
      throw KeywardenException.invalid("claim '" + Inputs.quoted(claim) + "' is " + text.length()
          + " characters; the limit is " + MAX_VALUE_CHARS);
    }
    if (globs.stream().noneMatch(g -> g.matches(text))) {
      throw KeywardenException.invalid("claim '" + Inputs.quoted(claim) + "' value '" + Inputs.quoted(text)
          + "' is not matched by " + rule + " " + templates);
    }
    return normalized;
  }

  private static String string(String claim, Object value) {
    if (!(value instanceof String s) || s.isEmpty()) {
      throw KeywardenException.invalid("claim '" + claim + "' must be a non-empty string");
    }
    if (s.length() > MAX_VALUE_CHARS) {
      throw KeywardenException.invalid("claim '" + claim + "' is " + s.length() + " characters; the limit is "
          + MAX_VALUE_CHARS);
    }
    return s;
  }

  /** The value as a long when it is a whole number within range (42, 42.0, BigInteger 42); null otherwise. */
  private static Long wholeNumber(Object value) {
    if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte) {
      return ((Number) value).longValue();
    }
    try {
      if (value instanceof BigInteger big) {
        return big.longValueExact();
      }
      if (value instanceof BigDecimal dec) {
        return dec.longValueExact();
      }
      if (value instanceof Double || value instanceof Float) {
        double d = ((Number) value).doubleValue();
        if (Double.isFinite(d) && d == Math.rint(d) && Math.abs(d) < 9.0e15) {
          return (long) d;
        }
      }
    } catch (ArithmeticException e) {
      return null;
    }
    return null;
  }
}
