package dev.keywarden.server.auth.jwt;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;
import java.nio.charset.StandardCharsets;

/**
 * What a login brings from outside — the JWT, the issuer's JWK Set and discovery document, a role's PEM keys — is
 * parsed by small classes whose only failure, whatever the bytes, is our own KeywardenException (a clear
 * INVALID_ARGUMENT or UNAUTHENTICATED, never INTERNAL). Seeds: a well-formed ES256 JWT, RFC 7517's example keys,
 * an OIDC discovery document and a PEM public key.
 */
class JwtParsingFuzzTest {

  @FuzzTest
  void aJwtIsParsedOrRefused(byte[] input) {
    try {
      CompactJwt.parse(new String(input, StandardCharsets.UTF_8));
    } catch (KeywardenException refused) {
      // the only way to say no
    }
  }

  @FuzzTest
  void aJwkSetOrDiscoveryDocumentIsReadOrRefused(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    try {
      JwksDocument.parse(text, "the JWK Set");
    } catch (KeywardenException refused) {
      // the only way to say no
    }
    try {
      JwksDocument.jwksUri(text, "https://issuer.example", "the discovery document");
    } catch (KeywardenException refused) {
      // the only way to say no
    }
  }

  @FuzzTest
  void pemPublicKeysAreReadOrRefused(byte[] input) {
    try {
      PemPublicKeys.parse(new String(input, StandardCharsets.UTF_8), "public_key_pem");
    } catch (KeywardenException refused) {
      // the only way to say no
    }
  }
}
