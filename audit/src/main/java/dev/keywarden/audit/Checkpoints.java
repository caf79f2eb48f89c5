package dev.keywarden.audit;

import dev.keywarden.failure.KeywardenException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;

/** What a checkpoint signature covers and how it is checked, shared by the writer and the verifier. */
final class Checkpoints {
  private Checkpoints() {}

  /** The signed message: the domain, then the first {@code length} bytes of the line. */
  static byte[] message(byte[] line, int length) {
    byte[] m = Arrays.copyOf(Lines.CHECKPOINT_DOMAIN, Lines.CHECKPOINT_DOMAIN.length + length);
    System.arraycopy(line, 0, m, Lines.CHECKPOINT_DOMAIN.length, length);
    return m;
  }

  /** "Ed25519" or "ECDSA-P256-SHA256": the only audit keys; INVALID_ARGUMENT for any other key. */
  static String algorithm(PublicKey key) {
    if (key.getAlgorithm().equals("EdDSA") || key.getAlgorithm().equals("Ed25519")) {
      return "Ed25519";
    }
    if (key instanceof ECPublicKey ec && ec.getParams().getCurve().getField().getFieldSize() == 256) {
      return "ECDSA-P256-SHA256";
    }
    throw KeywardenException.invalid("an audit public key is Ed25519 or ECDSA P-256, got " + key.getAlgorithm());
  }

  /** The SHA-256 of the key's SubjectPublicKeyInfo, first 16 bytes in hex: names the key in each checkpoint. */
  static String fingerprint(PublicKey key) {
    return HexFormat.of().formatHex(Arrays.copyOf(Lines.sha256(key.getEncoded()), 16));
  }

  /** Whether {@code sig} is the key's signature of {@code message}; false for anything malformed. */
  static boolean verify(PublicKey key, byte[] message, byte[] sig) {
    try {
      String alg = algorithm(key);
      PublicKey jdkKey = KeyFactory.getInstance(alg.equals("Ed25519") ? "Ed25519" : "EC")
          .generatePublic(new X509EncodedKeySpec(key.getEncoded()));
      Signature s = Signature.getInstance(alg.equals("Ed25519") ? "Ed25519" : "SHA256withECDSA");
      s.initVerify(jdkKey);
      s.update(message);
      return s.verify(sig);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }
}
