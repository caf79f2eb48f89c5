package dev.keywarden.server.auth.jwt;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.Base64;
import java.util.Map;

/**
 * A login's JWT taken apart: the parse boundary between caller bytes and Nimbus. For any input it returns or throws
 * {@link KeywardenException}: INVALID_ARGUMENT for text that is not a compact JWS (size, parts, base64url, JSON),
 * UNAUTHENTICATED for a well-formed JWT that is unsigned or HMAC-signed. Never quotes the JWT in a message.
 */
public final class CompactJwt {
  /** The largest JWT a login takes. */
  public static final int MAX_CHARS = 16 * 1024;

  private final SignedJWT jwt;
  private final JWTClaimsSet claims;

  private CompactJwt(SignedJWT jwt, JWTClaimsSet claims) {
    this.jwt = jwt;
    this.claims = claims;
  }

  /** Parses a compact JWS; checks shape, never the signature or the claims' meaning. */
  public static CompactJwt parse(String text) {
    if (text == null || text.isEmpty()) {
      throw KeywardenException.invalid("jwt is empty: pass the JWT in compact form (header.payload.signature)");
    }
    if (text.length() > MAX_CHARS) {
      throw KeywardenException.invalid("jwt is " + text.length() + " characters; the limit is " + MAX_CHARS);
    }
    String trimmed = text.strip();
    String[] parts = trimmed.split("\\.", -1);
    if (parts.length == 5) {
      throw KeywardenException.invalid("the JWT is encrypted (a JWE has five parts); log in with a signed JWT");
    }
    if (parts.length != 3) {
      throw KeywardenException.invalid("a JWT has three dot-separated parts (header.payload.signature); this one has "
          + parts.length);
    }
    String[] names = {"header", "payload", "signature"};
    for (int i = 0; i < 3; i++) {
      if (!base64url(parts[i]) || (i < 2 && parts[i].isEmpty())) {
        throw KeywardenException.invalid("the JWT's " + names[i] + " is not base64url (unpadded)");
      }
    }
    Map<String, Object> header = json(parts[0], "header");
    Object alg = header.get("alg");
    if (!(alg instanceof String name) || name.isEmpty()) {
      throw KeywardenException.invalid("the JWT's header has no \"alg\"");
    }
    if (name.equalsIgnoreCase("none")) {
      throw new KeywardenException(Kind.UNAUTHENTICATED, "the JWT is unsigned (alg \"none\"); it is never accepted");
    }
    if (name.toUpperCase(java.util.Locale.ROOT).startsWith("HS")) {
      throw new KeywardenException(Kind.UNAUTHENTICATED, "the JWT is HMAC-signed (alg \""
          + dev.keywarden.failure.Inputs.quoted(name) + "\"); only public-key signatures are accepted");
    }
    if (parts[2].isEmpty()) {
      throw KeywardenException.invalid("the JWT has no signature");
    }
    json(parts[1], "payload");
    try {
      SignedJWT jwt = SignedJWT.parse(trimmed);
      return new CompactJwt(jwt, jwt.getJWTClaimsSet());
    } catch (ParseException | RuntimeException e) {
      throw KeywardenException.invalid("the JWT's header or claims are malformed: " + reason(e));
    }
  }

  /** The header (alg, kid, …). */
  public JWSHeader header() {
    return jwt.getHeader();
  }

  /** The algorithm the header names. */
  public JWSAlgorithm algorithm() {
    return jwt.getHeader().getAlgorithm();
  }

  /** The claims, not yet checked against anything. */
  public JWTClaimsSet claims() {
    return claims;
  }

  /** The signed JWT, for verification. */
  SignedJWT signed() {
    return jwt;
  }

  @Override
  public String toString() {
    return "CompactJwt[alg=" + algorithm() + "]";
  }

  private static boolean base64url(String part) {
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok) {
        return false;
      }
    }
    return part.length() % 4 != 1;
  }

  private static Map<String, Object> json(String part, String what) {
    byte[] raw;
    try {
      raw = Base64.getUrlDecoder().decode(part);
    } catch (IllegalArgumentException e) {
      throw KeywardenException.invalid("the JWT's " + what + " is not base64url (unpadded)");
    }
    try {
      return com.nimbusds.jose.util.JSONObjectUtils.parse(new String(raw, StandardCharsets.UTF_8));
    } catch (ParseException | RuntimeException e) {
      throw KeywardenException.invalid("the JWT's " + what + " is not a JSON object");
    }
  }

  /** A parser's complaint, without echoing the input (Nimbus messages can quote it). */
  private static String reason(Exception e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int colon = m.indexOf(':');
    return colon > 0 ? m.substring(0, colon) : dev.keywarden.failure.Inputs.quoted(m);
  }
}
