package dev.keywarden.ssh;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECFieldFp;
import java.security.spec.ECPoint;
import java.security.spec.EllipticCurve;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.u2f.SecurityKeyPublicKey;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.security.SecurityUtils;

/**
 * OpenSSH public keys: the caller's key line (untrusted: anything but a well-formed key of a known type is
 * INVALID_ARGUMENT), and the wire blob, text line and SHA256 fingerprint of keys the CA handles. Keys are handed to
 * sshd-common in the classes it knows (Ed25519 as Bouncy Castle's), which {@link #forSshd} converts to.
 */
final class SshPublicKeys {
  /** Longer lines are refused before parsing; an RSA-16384 key line is about 2.8 KB. */
  static final int MAX_LINE = 8 * 1024;
  /** RSA keys above this size are refused: nobody needs them and they cost the verifier. */
  static final int MAX_RSA_BITS = 16384;

  /** The kinds of key a role can allow, by the names roles use. */
  private static final String SSH_ED25519 = "ssh-ed25519";

  enum Family {
    ED25519("ed25519"),
    ECDSA("ecdsa"),
    RSA("rsa"),
    SK_ED25519("sk-ed25519"),
    SK_ECDSA("sk-ecdsa");

    private final String roleName;

    Family(String roleName) {
      this.roleName = roleName;
    }

    String roleName() {
      return roleName;
    }

    static Family parse(String field, String name) {
      for (Family f : values()) {
        if (f.roleName.equals(name)) {
          return f;
        }
      }
      throw KeywardenException.invalid(field + ": '" + Inputs.quoted(String.valueOf(name)) + "' is not a key type;"
          + " known: ed25519, ecdsa, rsa, sk-ed25519, sk-ecdsa (DSA is never allowed)");
    }
  }

  private static final Map<String, Family> TYPES = Map.of(
      "ssh-ed25519", Family.ED25519,
      "ecdsa-sha2-nistp256", Family.ECDSA,
      "ecdsa-sha2-nistp384", Family.ECDSA,
      "ecdsa-sha2-nistp521", Family.ECDSA,
      "ssh-rsa", Family.RSA,
      "sk-ssh-ed25519@openssh.com", Family.SK_ED25519,
      "sk-ecdsa-sha2-nistp256@openssh.com", Family.SK_ECDSA);

  /** A caller's public key, checked: {@code key} in sshd-common's classes, {@code bits} the RSA modulus or curve size. */
  record Parsed(PublicKey key, String keyType, Family family, int bits, byte[] blob) {
    String line() {
      return keyType + " " + Base64.getEncoder().encodeToString(blob);
    }
  }

  private SshPublicKeys() {}

  /**
   * Parses one OpenSSH public key line ("TYPE BASE64 [comment]"): a known key type, base64 of a blob naming the same
   * type with nothing after the key, a valid key (points on their curve). Certificates, DSA keys, options before the
   * type and several lines are refused.
   */
  static Parsed parse(String field, String line) {
    if (line == null || line.isBlank()) {
      throw KeywardenException.invalid(field + " is missing: give one OpenSSH public key line, e.g. the contents of"
          + " ~/.ssh/id_ed25519.pub");
    }
    Inputs.maxChars(field, line, MAX_LINE);
    String text = line.strip();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\n' || c == '\r' || c == 0) {
        throw KeywardenException.invalid(field + ": give exactly one public key line; this one holds a line break"
            + " or NUL");
      }
    }
    String[] parts = text.split("[ \t]+", 3);
    String type = parts[0];
    if (type.equals("ssh-dss")) {
      throw KeywardenException.invalid(field + ": DSA keys (ssh-dss) are refused; use an Ed25519 key"
          + " (ssh-keygen -t ed25519)");
    }
    if (type.contains("-cert-v01@openssh.com")) {
      throw KeywardenException.invalid(field + ": '" + Inputs.quoted(type) + "' is a certificate; send the public key"
          + " it certifies (the .pub file, not -cert.pub)");
    }
    Family family = TYPES.get(type);
    if (family == null) {
      throw KeywardenException.invalid(field + ": '" + Inputs.quoted(type) + "' is not a supported key type"
          + " (ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa, sk-ssh-ed25519@openssh.com,"
          + " sk-ecdsa-sha2-nistp256@openssh.com); authorized_keys options are not accepted");
    }
    if (parts.length < 2) {
      throw KeywardenException.invalid(field + ": the key data (base64) after '" + type + "' is missing");
    }
    byte[] blob;
    try {
      blob = Base64.getDecoder().decode(parts[1]);
    } catch (IllegalArgumentException e) {
      throw KeywardenException.invalid(field + ": the key data after '" + type + "' is not base64");
    }
    if (!Base64.getEncoder().encodeToString(blob).equals(parts[1])) {
      // The JDK decoder takes unpadded and non-zero trailing bits; one key has one text form here.
      throw KeywardenException.invalid(field + ": the key data after '" + type + "' is not canonical base64 (with"
          + " its '=' padding), as ssh-keygen writes it");
    }
    PublicKey key = decode(field, type, blob);
    int bits = bits(field, key);
    if (!Arrays.equals(blob(key), blob)) {
      throw notAKey(field, type, "it is not in canonical form");
    }
    return new Parsed(key, type, family, bits, blob);
  }

  private static PublicKey decode(String field, String type, byte[] blob) {
    PublicKey key;
    String inner;
    ByteArrayBuffer b = new ByteArrayBuffer(blob);
    try {
      inner = b.getString();
      if (!type.equals(inner)) {
        throw notAKey(field, type, "its data names the type '" + Inputs.quoted(inner) + "'");
      }
      if (type.equals(SSH_ED25519)) {
        byte[] point = b.getBytes(); // the one field after the type: no point decoding (see Ed25519Point)
        if (point.length != Ed25519Point.LENGTH) {
          throw notAKey(field, type, "an Ed25519 key is 32 bytes, this one " + point.length);
        }
        key = new Ed25519Point(point);
      } else {
        b.rpos(0);
        key = b.getRawPublicKey();
      }
    } catch (KeywardenException e) {
      throw e;
    } catch (RuntimeException | java.io.IOException e) {
      // sshd-common and the JCA report malformed blobs in many ways (BufferException, IllegalArgumentException,
      // IllegalStateException, InvalidKeySpecException ...): all of them mean the caller's key is not one.
      throw notAKey(field, type, "its data does not decode");
    }
    if (b.available() != 0) {
      throw notAKey(field, type, "there are bytes after the key");
    }
    if (!type.equals(KeyUtils.getKeyType(key))) {
      throw notAKey(field, type, "its data holds a " + Inputs.quoted(String.valueOf(KeyUtils.getKeyType(key))) + " key");
    }
    return key;
  }

  private static int bits(String field, PublicKey key) {
    PublicKey k = key instanceof SecurityKeyPublicKey<?> sk ? sk.getDelegatePublicKey() : key;
    if (k instanceof RSAPublicKey rsa) {
      int bits = rsa.getModulus().bitLength();
      BigInteger e = rsa.getPublicExponent();
      if (bits > MAX_RSA_BITS || e.signum() <= 0 || !e.testBit(0) || e.equals(BigInteger.ONE)) {
        throw notAKey(field, "ssh-rsa", bits > MAX_RSA_BITS ? "RSA keys above " + MAX_RSA_BITS + " bits are refused"
            : "its public exponent is not valid");
      }
      return bits;
    }
    if (k instanceof ECPublicKey ec) {
      if (!onCurve(ec.getW(), ec.getParams().getCurve())) {
        throw notAKey(field, KeyUtils.getKeyType(key), "its point is not on the curve");
      }
      return ec.getParams().getCurve().getField().getFieldSize();
    }
    return 256; // Ed25519: 32 bytes (see Ed25519Point)
  }

  private static boolean onCurve(ECPoint p, EllipticCurve curve) {
    if (p == ECPoint.POINT_INFINITY || !(curve.getField() instanceof ECFieldFp fp)) {
      return false;
    }
    BigInteger prime = fp.getP();
    BigInteger x = p.getAffineX();
    BigInteger y = p.getAffineY();
    if (x.signum() < 0 || y.signum() < 0 || x.compareTo(prime) >= 0 || y.compareTo(prime) >= 0) {
      return false;
    }
    BigInteger left = y.multiply(y).mod(prime);
    BigInteger right = x.pow(3).add(curve.getA().multiply(x)).add(curve.getB()).mod(prime);
    return left.equals(right);
  }

  private static KeywardenException notAKey(String field, String type, String why) {
    return KeywardenException.invalid(field + ": not a valid " + Inputs.quoted(type) + " public key: " + why);
  }

  // ---- keys the CA handles ----

  /** The SSH wire form of {@code key} (string type, then the key's fields). */
  static byte[] blob(PublicKey key) {
    ByteArrayBuffer b = new ByteArrayBuffer();
    b.putRawPublicKey(forSshd(key));
    return b.getCompactData();
  }

  /** "TYPE BASE64", with " comment" when one is given. */
  static String line(PublicKey key, String comment) {
    String line = PublicKeyEntry.toString(forSshd(key));
    return comment == null ? line : line + " " + comment;
  }

  /** The OpenSSH fingerprint, "SHA256:" and the unpadded base64 of the blob's SHA-256. */
  static String fingerprint(PublicKey key) {
    return KeyUtils.getFingerPrint(forSshd(key));
  }

  /** The key type name of a key in sshd's terms ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa" ...). */
  static String keyType(PublicKey key) {
    return KeyUtils.getKeyType(forSshd(key));
  }

  /**
   * {@code key} as sshd-common encodes it: Ed25519 keys from the JDK or an HSM become Bouncy Castle's (sshd-common
   * writes those only); other keys are returned as they are.
   */
  static PublicKey forSshd(PublicKey key) {
    if (!isJdkEd25519(key)) {
      return key;
    }
    try {
      return eddsaFactory().generatePublic(new X509EncodedKeySpec(key.getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("an Ed25519 public key always converts", e);
    }
  }

  /** A key pair sshd-common can write in OpenSSH's private key format. */
  static KeyPair forSshd(KeyPair pair) {
    if (!isJdkEd25519(pair.getPublic())) {
      return pair;
    }
    byte[] pkcs8 = pair.getPrivate().getEncoded();
    try {
      PrivateKey converted = eddsaFactory().generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
      return new KeyPair(forSshd(pair.getPublic()), converted);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("an Ed25519 private key always converts", e);
    } finally {
      Arrays.fill(pkcs8, (byte) 0);
    }
  }

  private static boolean isJdkEd25519(PublicKey key) {
    String alg = key.getAlgorithm().toLowerCase(Locale.ROOT);
    return (alg.equals("eddsa") || alg.equals("ed25519"))
        && !(key instanceof org.bouncycastle.jcajce.interfaces.EdDSAPublicKey);
  }

  private static KeyFactory eddsaFactory() throws GeneralSecurityException {
    return SecurityUtils.getKeyFactory(SecurityUtils.ED25519);
  }
}
