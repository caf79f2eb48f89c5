package dev.keywarden.jwt;

import static dev.keywarden.jwt.JwtFixture.issuer;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.crypto.impl.ECDSA;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jwt.SignedJWT;
import dev.keywarden.encoding.Pem;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every algorithm, with HSM and software keys: tokens verify with Nimbus against the published JWKS, and OpenSSL. */
class EveryAlgorithmTest {
  @TempDir
  Path dir;

  static Stream<Arguments> algorithms() {
    return Stream.of(JwtAlgorithm.values()).flatMap(a -> Stream.of(Arguments.of(a, false), Arguments.of(a, true)));
  }

  private static JwtKeySettings settings(JwtAlgorithm algorithm, boolean software) {
    return JwtKeySettings.of("k", algorithm, issuer("k")).withSoftware(software).withPublishAhead(Duration.ZERO);
  }

  @ParameterizedTest(name = "{0} software={1}")
  @MethodSource("algorithms")
  void tokensVerifyWithNimbusAgainstTheJwksAndTheirKidIsTheThumbprint(JwtAlgorithm algorithm, boolean software)
      throws Exception {
    try (JwtFixture f = new JwtFixture(dir, MutableClock.running())) {
      JwtKeyInfo info = f.keyWithRole(settings(algorithm, software));
      JwtVersionInfo v = info.versions().get(0);
      assertEquals(software, v.software());
      assertEquals(software, v.hsmLabel().isEmpty());
      assertEquals(!software, f.privateKeysOnToken().contains("jwt-k-"), "HSM keys only for HSM versions");

      String token = f.signOne("k");
      SignedJWT parsed = SignedJWT.parse(token);
      assertEquals(algorithm.jws(), parsed.getHeader().getAlgorithm());
      assertEquals(JOSEObjectType.JWT, parsed.getHeader().getType());
      assertEquals(v.kid(), parsed.getHeader().getKeyID());

      String jwks = f.jwt.jwks("k").json();
      JWK jwk = JWKSet.parse(jwks).getKeyByKeyId(v.kid());
      assertEquals(v.kid(), jwk.computeThumbprint().toString(), "kid is the RFC 7638 thumbprint");
      assertEquals(KeyUse.SIGNATURE, jwk.getKeyUse());
      assertEquals(algorithm.jws(), jwk.getAlgorithm());
      assertFalse(jwk.isPrivate());
      assertTrue(JwtFixture.nimbusVerifies(jwks, token));

      VerifiedJwt verified = f.jwt.verify("k", token, Optional.of("api"));
      assertEquals(List.of("api"), verified.audience());
      assertTrue(verified.expiresAt().isAfter(Instant.now().plusSeconds(14 * 60)));

      int first = token.lastIndexOf('.') + 1;
      String forged = token.substring(0, first) + (token.charAt(first) == 'A' ? "B" : "A")
          + token.substring(first + 1);
      assertFalse(JwtFixture.nimbusVerifies(jwks, forged));
    }
  }

  @Test
  void softwareKeysSignAgainAfterSealAndUnseal() throws Exception {
    try (JwtFixture f = new JwtFixture(dir, MutableClock.running())) {
      f.keyWithRole(settings(JwtAlgorithm.EDDSA, true));
      String before = f.signOne("k");
      f.core.seal();
      f.core.submitUnsealShare(f.init.shares().get(0));
      String after = f.signOne("k");
      assertEquals(JwtFixture.kid(before), JwtFixture.kid(after));
      assertTrue(JwtFixture.nimbusVerifies(f.jwt.jwks("k").json(), after));
    }
  }

  @Test
  void openSslVerifiesAnEs256SignatureWithAKeyBuiltFromTheJwkCoordinates() throws Exception {
    try (JwtFixture f = new JwtFixture(dir, MutableClock.running())) {
      f.keyWithRole(settings(JwtAlgorithm.ES256, false));
      String token = f.signOne("k");
      ECKey jwk = (ECKey) JWKSet.parse(f.jwt.jwks("k").json()).getKeys().get(0);
      // Only x and y (and the curve) from the JWK: the PEM is built from them.
      ECKey fromCoordinates = new ECKey.Builder(jwk.getCurve(), jwk.getX(), jwk.getY()).build();
      Files.writeString(dir.resolve("pub.pem"), Pem.block("PUBLIC KEY",
          fromCoordinates.toECPublicKey().getEncoded()));
      int dot = token.lastIndexOf('.');
      Files.write(dir.resolve("data"), token.substring(0, dot).getBytes(US_ASCII));
      byte[] concat = com.nimbusds.jose.util.Base64URL.from(token.substring(dot + 1)).decode();
      assertEquals(64, concat.length, "JWS carries r||s, 32 bytes each");
      Files.write(dir.resolve("sig.der"), ECDSA.transcodeSignatureToDER(concat));

      JwtFixture.Run ok = f.openssl("dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", "data");
      assertEquals(0, ok.exit(), ok.out());
      assertTrue(ok.out().contains("Verified OK"), ok.out());

      Files.write(dir.resolve("data"), (token.substring(0, dot) + "x").getBytes(US_ASCII));
      JwtFixture.Run bad = f.openssl("dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", "data");
      assertTrue(bad.exit() != 0 && bad.out().contains("Verification failure"), bad.out());
    }
  }

  @Test
  void openIdConfigurationNamesTheIssuerTheJwksUriAndTheAlgorithm() throws Exception {
    try (JwtFixture f = new JwtFixture(dir, MutableClock.running())) {
      f.keyWithRole(settings(JwtAlgorithm.PS256, true));
      Map<String, Object> doc = com.nimbusds.jose.util.JSONObjectUtils.parse(f.jwt.openIdConfiguration("k"));
      assertEquals(issuer("k"), doc.get("issuer"));
      assertEquals(issuer("k") + "/.well-known/jwks.json", doc.get("jwks_uri"));
      assertEquals(List.of("PS256"), doc.get("id_token_signing_alg_values_supported"));
      PublishedJwks jwks = f.jwt.jwks("k");
      assertEquals(jwks, f.jwt.jwks("k"));
      assertTrue(jwks.etag().startsWith("\"") && jwks.etag().endsWith("\""), jwks.etag());
      f.jwt.rotate("k", false);
      assertFalse(jwks.etag().equals(f.jwt.jwks("k").etag()), "the ETag changes with the set");
    }
  }
}
