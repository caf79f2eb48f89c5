package dev.keywarden.ssh;

import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.Signature;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/**
 * A CA signature in SSH's form (RFC 4253 6.6, RFC 5656 3.1.2, RFC 8332, RFC 8709): {@code string name, string blob}.
 * The HSM signs once in its JCA encoding; ECDSA's DER {r, s} becomes {@code mpint r, mpint s}. RSA CAs sign
 * rsa-sha2-512, never ssh-rsa (SHA-1). A signer's first signature is verified with the CA's stored public key before
 * it is used, which proves the HSM key behind it is the CA's (the engine then trusts that signer until the core seals,
 * as the PKI does: a JDK P-256 verification costs several HSM signatures).
 */
final class CaSignatures {
  private CaSignatures() {}

  /** The SSH signature algorithm a CA key of {@code algorithm} signs with. */
  static String sshName(KeyPairAlgorithm algorithm) {
    return switch (algorithm) {
      case ED25519 -> "ssh-ed25519";
      case EC_P256 -> "ecdsa-sha2-nistp256";
      case EC_P384 -> "ecdsa-sha2-nistp384";
      case RSA_2048, RSA_3072, RSA_4096 -> "rsa-sha2-512";
    };
  }

  /** The HSM signature algorithm behind {@link #sshName}. */
  static SignatureAlgorithm hsmAlgorithm(KeyPairAlgorithm algorithm) {
    return switch (algorithm) {
      case ED25519 -> SignatureAlgorithm.ED25519;
      case EC_P256 -> SignatureAlgorithm.ECDSA_SHA256;
      case EC_P384 -> SignatureAlgorithm.ECDSA_SHA384;
      case RSA_2048, RSA_3072, RSA_4096 -> SignatureAlgorithm.RSA_PKCS1_SHA512;
    };
  }

  /** Signs {@code message} with one HSM call, verifies the result and returns SSH's signature blob. */
  static byte[] sign(HsmSigner ca, byte[] message) {
    return sign(ca, message, true);
  }

  /** Signs {@code message} with one HSM call, verifies the result if {@code verify}, and returns SSH's blob. */
  static byte[] sign(HsmSigner ca, byte[] message, boolean verify) {
    KeyPairAlgorithm algorithm = ca.algorithm();
    SignatureAlgorithm hsmAlgorithm = hsmAlgorithm(algorithm);
    byte[] signature = ca.sign(hsmAlgorithm, message);
    if (verify) {
      verify(ca, hsmAlgorithm, message, signature);
    }
    ByteArrayBuffer out = new ByteArrayBuffer();
    out.putString(sshName(algorithm));
    if (algorithm.family() == KeyPairAlgorithm.Family.EC) {
      BigInteger[] rs = derToRs(signature);
      ByteArrayBuffer inner = new ByteArrayBuffer();
      inner.putMPInt(rs[0]);
      inner.putMPInt(rs[1]);
      out.putBytes(inner.getCompactData());
    } else {
      out.putBytes(signature);
    }
    return out.getCompactData();
  }

  private static void verify(HsmSigner ca, SignatureAlgorithm algorithm, byte[] message, byte[] signature) {
    try {
      Signature v = algorithm.newJdkSignature();
      v.initVerify(ca.publicKey());
      v.update(message);
      if (!v.verify(signature)) {
        throw new IllegalStateException("the HSM made an SSH CA signature that key '" + ca.id().label()
            + "' does not verify");
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the HSM's SSH CA signature could not be verified", e);
    }
  }

  /**
   * ECDSA's DER SEQUENCE { INTEGER r, INTEGER s } as {r, s}: read by hand (per signature, and the HSM's output is a
   * fixed, short shape), strictly: definite lengths only, nothing after the sequence.
   */
  static BigInteger[] derToRs(byte[] der) {
    int[] at = {0};
    if (next(der, at) != 0x30 || length(der, at) != der.length - at[0]) {
      throw notDer();
    }
    BigInteger r = integer(der, at);
    BigInteger s = integer(der, at);
    if (at[0] != der.length || r.signum() <= 0 || s.signum() <= 0) {
      throw notDer();
    }
    return new BigInteger[] {r, s};
  }

  private static BigInteger integer(byte[] der, int[] at) {
    if (next(der, at) != 0x02) {
      throw notDer();
    }
    int n = length(der, at);
    if (n == 0 || at[0] + n > der.length) {
      throw notDer();
    }
    BigInteger v = new BigInteger(der, at[0], n);
    at[0] += n;
    return v;
  }

  private static int length(byte[] der, int[] at) {
    int first = next(der, at);
    if (first < 0x80) {
      return first;
    }
    int bytes = first & 0x7f;
    if (bytes == 0 || bytes > 2) {
      throw notDer(); // ECDSA signatures up to P-521 are under 64 KiB
    }
    int n = 0;
    for (int i = 0; i < bytes; i++) {
      n = (n << 8) | next(der, at);
    }
    return n;
  }

  private static int next(byte[] der, int[] at) {
    if (at[0] >= der.length) {
      throw notDer();
    }
    return der[at[0]++] & 0xff;
  }

  private static IllegalStateException notDer() {
    return new IllegalStateException("the HSM returned an ECDSA signature that is not DER");
  }
}
