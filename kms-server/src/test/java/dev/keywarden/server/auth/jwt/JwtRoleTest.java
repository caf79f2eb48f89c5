package dev.keywarden.server.auth.jwt;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Role validation: what a role may never hold, and the defaults it gets. */
class JwtRoleTest {
  static JwtRole role(List<String> algorithms, String jwksUrl) {
    return new JwtRole("https://issuer.example", jwksUrl, null, null, null, null, List.of("keywarden"), null,
        List.of(), algorithms, 0, List.of("p"), 0, false);
  }

  @Test
  void noneAndHmacAlgorithmsAreRefusedAtRoleWrite() {
    for (String alg : List.of("none", "HS256", "HS384", "HS512", "RS384", "es256")) {
      KeywardenException e = assertThrows(KeywardenException.class,
          () -> role(List.of(alg), "https://issuer.example/jwks"));
      assertTrue(e.getMessage().contains("never accepted"), e.getMessage());
    }
  }

  @Test
  void defaultsAreFilledIn() {
    JwtRole r = role(List.of(), "https://issuer.example/jwks");
    assertEquals(JwtRole.DEFAULT_ALGORITHMS, r.allowedAlgorithms());
    assertEquals(60, r.clockSkewSeconds());
    assertEquals(3600, r.tokenTtlSeconds());
    assertTrue(r.fetchesKeys());
  }

  @Test
  void keysAreFetchedOverHttpsOrFromLoopbackOnly() {
    role(List.of(), "http://127.0.0.1:8080/jwks");
    role(List.of(), "http://[::1]:8080/jwks");
    role(List.of(), "http://localhost/jwks");
    for (String url : List.of("http://issuer.example/jwks", "ftp://issuer.example/jwks", "file:///etc/passwd",
        "https://user:pw@issuer.example/jwks", "not a url")) {
      assertThrows(KeywardenException.class, () -> role(List.of(), url), url);
    }
  }

  @Test
  void staticKeysMustBePublicSigningKeys() {
    String priv = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        + "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\",\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}]}";
    KeywardenException e = assertThrows(KeywardenException.class, () -> new JwtRole("https://i", null, null, priv,
        null, null, List.of("a"), null, List.of(), List.of(), 0, List.of("p"), 0, false));
    assertTrue(e.getMessage().contains("private"), e.getMessage());
    assertThrows(KeywardenException.class, () -> new JwtRole("https://i", null, null, null,
        List.of("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"), null, List.of("a"), null, List.of(),
        List.of(), 0, List.of("p"), 0, false));
  }
}
