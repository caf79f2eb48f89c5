package dev.keywarden.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.text.ParseException;
import java.util.Arrays;

/** Public JWKs of key versions: built from the JCA public key, named by their RFC 7638 thumbprint, and verifiers. */
final class PublicJwks {
  /** An Ed25519 SubjectPublicKeyInfo: a 12-byte header, then the 32-byte key. */
  private static final int ED25519_SPKI_BYTES = 44;

  private PublicJwks() {}

  /** The public JWK of {@code key} with kid (the SHA-256 thumbprint of its required members), alg and use=sig. */
  static JWK of(JwtAlgorithm algorithm, PublicKey key) {
    try {
      return switch (algorithm) {
        case ES256, ES384 -> {
          Curve curve = algorithm == JwtAlgorithm.ES256 ? Curve.P_256 : Curve.P_384;
          ECKey bare = new ECKey.Builder(curve, (ECPublicKey) key).build();
          yield new ECKey.Builder(bare).keyID(bare.computeThumbprint().toString()).keyUse(KeyUse.SIGNATURE)
              .algorithm(algorithm.jws()).build();
        }
        case RS256, PS256 -> {
          RSAKey bare = new RSAKey.Builder((RSAPublicKey) key).build();
          yield new RSAKey.Builder(bare).keyID(bare.computeThumbprint().toString()).keyUse(KeyUse.SIGNATURE)
              .algorithm(algorithm.jws()).build();
        }
        case EDDSA -> {
          byte[] spki = key.getEncoded();
          if (spki.length != ED25519_SPKI_BYTES) {
            throw new IllegalStateException("an Ed25519 public key encodes in " + ED25519_SPKI_BYTES + " bytes, not "
                + spki.length);
          }
          Base64URL x = Base64URL.encode(Arrays.copyOfRange(spki, spki.length - 32, spki.length));
          OctetKeyPair bare = new OctetKeyPair.Builder(Curve.Ed25519, x).build();
          yield new OctetKeyPair.Builder(bare).keyID(bare.computeThumbprint().toString())
              .keyUse(KeyUse.SIGNATURE).algorithm(algorithm.jws()).build();
        }
      };
    } catch (JOSEException | ClassCastException e) {
      throw new IllegalStateException("a " + algorithm.jwsName() + " public key did not make a JWK", e);
    }
  }

  /** Reads a stored public JWK. */
  static JWK parse(String json) {
    try {
      return JWK.parse(json);
    } catch (ParseException e) {
      throw new IllegalStateException("a stored public JWK is unreadable", e);
    }
  }

  /** A verifier for tokens signed by {@code jwk}'s private key. */
  static JWSVerifier verifier(JWK jwk) {
    try {
      if (jwk instanceof ECKey ec) {
        return new ECDSAVerifier(ec);
      }
      if (jwk instanceof RSAKey rsa) {
        return new RSASSAVerifier(rsa);
      }
      if (jwk instanceof OctetKeyPair okp) {
        return new Ed25519Verifier(okp);
      }
    } catch (JOSEException e) {
      throw new IllegalStateException("no verifier for a stored " + jwk.getKeyType() + " JWK", e);
    }
    throw new IllegalStateException("no verifier for a stored " + jwk.getKeyType() + " JWK");
  }
}
