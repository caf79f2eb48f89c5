package dev.keywarden.jwt;

import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.Base64;
import java.util.Map;

/**
 * A token to verify, taken apart: the boundary between caller text and Nimbus. For any input it returns or throws
 * INVALID_ARGUMENT (not a compact JWS: size, parts, base64url, JSON, claim types). Never quotes the token.
 */
record UntrustedToken(SignedJWT jwt, JWTClaimsSet claims) {
  /** The longest token verified. */
  static final int MAX_CHARS = 16 * 1024;

  static UntrustedToken parse(String text) {
    if (text == null || text.isEmpty()) {
      throw KeywardenException.invalid("token is empty: pass the JWT in compact form (header.payload.signature)");
    }
    if (text.length() > MAX_CHARS) {
      throw KeywardenException.invalid("token is " + text.length() + " characters; the limit is " + MAX_CHARS);
    }
    String[] parts = text.split("\\.", -1);
    if (parts.length != 3) {
      throw KeywardenException.invalid("a JWT has three dot-separated parts (header.payload.signature); this one has "
          + parts.length);
    }
    String[] names = {"header", "payload", "signature"};
    for (int i = 0; i < 3; i++) {
      if (parts[i].isEmpty() || !base64url(parts[i])) {
        throw KeywardenException.invalid("the token's " + names[i] + " is " + (parts[i].isEmpty() ? "empty"
            : "not base64url (unpadded)"));
      }
    }
    json(parts[0], "header");
    json(parts[1], "payload");
    try {
      SignedJWT jwt = SignedJWT.parse(text);
      return new UntrustedToken(jwt, jwt.getJWTClaimsSet());
    } catch (ParseException | RuntimeException e) {
      throw KeywardenException.invalid("the token's header or claims are malformed: " + reason(e));
    }
  }

  @Override
  public String toString() {
    return "UntrustedToken[alg=" + jwt.getHeader().getAlgorithm() + "]";
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
      throw KeywardenException.invalid("the token's " + what + " is not base64url (unpadded)");
    }
    try {
      return JSONObjectUtils.parse(new String(raw, StandardCharsets.UTF_8));
    } catch (ParseException | RuntimeException e) {
      throw KeywardenException.invalid("the token's " + what + " is not a JSON object");
    }
  }

  /** A parser's complaint without the input (Nimbus messages can quote it). */
  private static String reason(Exception e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int colon = m.indexOf(':');
    return colon > 0 ? Inputs.quoted(m.substring(0, colon)) : Inputs.quoted(m);
  }
}
