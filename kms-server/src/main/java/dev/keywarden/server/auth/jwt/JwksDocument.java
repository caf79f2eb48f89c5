package dev.keywarden.server.auth.jwt;

import com.nimbusds.jose.jwk.AsymmetricJWK;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.JSONObjectUtils;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The parse boundary for key documents an issuer (or an operator) hands us: a JWK Set and an OIDC discovery
 * document. For any input it returns or throws {@link KeywardenException} (INVALID_ARGUMENT, naming {@code what}).
 * Only public signing keys are kept: symmetric ("oct") keys and keys with private parts are refused, keys meant for
 * encryption ("use": "enc") and RSA keys under 2048 bits are left out.
 */
public final class JwksDocument {
  /** The largest key document read. */
  public static final int MAX_BYTES = 512 * 1024;
  static final int MIN_RSA_BITS = 2048;

  private JwksDocument() {}

  /** The public signing keys of a JWK Set document. */
  public static JWKSet parse(String json, String what) {
    if (json == null || json.isBlank()) {
      throw KeywardenException.invalid(what + " is empty");
    }
    Inputs.maxChars(what, json, MAX_BYTES);
    JWKSet set;
    try {
      set = JWKSet.parse(json);
    } catch (ParseException | RuntimeException e) {
      throw KeywardenException.invalid(what + " is not a JWK Set ({\"keys\": [...]}) of valid keys");
    }
    List<JWK> keep = new ArrayList<>();
    for (JWK key : set.getKeys()) {
      if (!(key instanceof AsymmetricJWK)) {
        throw KeywardenException.invalid(what + ": key " + kid(key) + " is symmetric (" + key.getKeyType()
            + "); only public keys are accepted");
      }
      if (key.isPrivate()) {
        throw KeywardenException.invalid(what + ": key " + kid(key) + " holds a private key; give only the public"
            + " keys");
      }
      if (key.getKeyUse() != null && !"sig".equals(key.getKeyUse().identifier())) {
        continue;
      }
      if (key instanceof RSAKey rsa && rsa.size() < MIN_RSA_BITS) {
        continue;
      }
      keep.add(key);
    }
    return new JWKSet(keep);
  }

  /**
   * The {@code jwks_uri} of an OIDC discovery document, after checking that it names {@code issuer} as its issuer
   * (OIDC Discovery 1.0, section 4.3).
   */
  public static String jwksUri(String json, String issuer, String what) {
    if (json == null || json.isBlank()) {
      throw KeywardenException.invalid(what + " is empty");
    }
    Inputs.maxChars(what, json, MAX_BYTES);
    Map<String, Object> doc;
    try {
      doc = JSONObjectUtils.parse(json);
    } catch (ParseException | RuntimeException e) {
      throw KeywardenException.invalid(what + " is not a JSON object");
    }
    if (!(doc.get("issuer") instanceof String named) || !named.equals(issuer)) {
      throw KeywardenException.invalid(what + " names issuer '" + Inputs.quoted(String.valueOf(doc.get("issuer")))
          + "', not the role's '" + Inputs.quoted(issuer) + "'");
    }
    if (!(doc.get("jwks_uri") instanceof String uri) || uri.isEmpty()) {
      throw KeywardenException.invalid(what + " has no jwks_uri");
    }
    return uri;
  }

  private static String kid(JWK key) {
    return key.getKeyID() == null ? "(no kid)" : "'" + Inputs.quoted(key.getKeyID()) + "'";
  }
}
