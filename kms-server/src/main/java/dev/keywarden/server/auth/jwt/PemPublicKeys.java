package dev.keywarden.server.auth.jwt;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import dev.keywarden.failure.KeywardenException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * PEM public keys ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo) as JWKs without a kid: RSA (2048 bits or
 * more), EC P-256 and P-384, Ed25519. For any input it returns or throws {@link KeywardenException}.
 */
final class PemPublicKeys {
  private static final String BEGIN = "-----BEGIN PUBLIC KEY-----";
  private static final String END = "-----END PUBLIC KEY-----";
  /** The DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow. */
  private static final byte[] ED25519_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

  private PemPublicKeys() {}

  /** The key of one PEM block; {@code what} names it in messages. */
  static JWK parse(String pem, String what) {
    if (pem == null) {
      throw KeywardenException.invalid(what + " is empty");
    }
    String text = pem.strip();
    if (text.length() < BEGIN.length() + END.length() || !text.startsWith(BEGIN) || !text.endsWith(END)) {
      throw KeywardenException.invalid(what + " is not one PEM public key (" + BEGIN + " … " + END + ")");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(text.substring(BEGIN.length(), text.length() - END.length()));
    } catch (IllegalArgumentException e) {
      throw KeywardenException.invalid(what + ": the PEM body is not base64");
    }
    if (der.length == ED25519_PREFIX.length + 32 && Arrays.equals(der, 0, ED25519_PREFIX.length, ED25519_PREFIX, 0,
        ED25519_PREFIX.length)) {
      byte[] x = Arrays.copyOfRange(der, ED25519_PREFIX.length, der.length);
      return new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(x)).keyUse(KeyUse.SIGNATURE).build();
    }
    PublicKey key = decode(der, "EC");
    if (key == null) {
      key = decode(der, "RSA");
    }
    if (key instanceof ECPublicKey ec) {
      Curve curve = Curve.forECParameterSpec(ec.getParams());
      if (!Curve.P_256.equals(curve) && !Curve.P_384.equals(curve)) {
        throw KeywardenException.invalid(what + ": EC keys must be on P-256 or P-384");
      }
      try {
        return new ECKey.Builder(curve, ec).keyUse(KeyUse.SIGNATURE).build();
      } catch (IllegalStateException | IllegalArgumentException notOnCurve) {
        // The JDK's KeyFactory takes any point; Nimbus checks it is on the curve (an invalid-curve key).
        throw KeywardenException.invalid(what + ": the EC public key's point is not on " + curve.getName());
      }
    }
    if (key instanceof RSAPublicKey rsa) {
      if (rsa.getModulus().bitLength() < JwksDocument.MIN_RSA_BITS) {
        throw KeywardenException.invalid(what + ": RSA keys must have at least " + JwksDocument.MIN_RSA_BITS
            + " bits");
      }
      return new RSAKey.Builder(rsa).keyUse(KeyUse.SIGNATURE).build();
    }
    throw KeywardenException.invalid(what + " is not an RSA, EC (P-256/P-384) or Ed25519 public key");
  }

  private static PublicKey decode(byte[] der, String algorithm) {
    try {
      return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
    } catch (java.security.GeneralSecurityException | RuntimeException e) {
      return null;
    }
  }
}
