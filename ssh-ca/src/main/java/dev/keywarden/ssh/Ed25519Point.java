package dev.keywarden.ssh;

import java.util.Arrays;
import java.util.HexFormat;
import org.bouncycastle.jcajce.interfaces.EdDSAPublicKey;

/**
 * A caller's Ed25519 public key as the 32 bytes it is on the wire, for certifying it. OpenSSH checks nothing more of an
 * Ed25519 key than its length (sshkey_from_blob), and a point that does not decode can verify no signature, so a
 * certificate for one opens nothing; decoding the point here (Bouncy Castle's key factory does, about 40 µs: more than
 * a quarter of a SoftHSM2 ECDSA signature) would only slow every Sign down. sshd-common encodes it through Bouncy
 * Castle's {@link EdDSAPublicKey} interface (the X.509 form's last 32 bytes), as it encodes Bouncy Castle's own keys.
 */
final class Ed25519Point implements EdDSAPublicKey {
  private static final long serialVersionUID = 1L;
  /** SubjectPublicKeyInfo of an Ed25519 key (RFC 8410) before its 32 bytes. */
  private static final byte[] X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");
  static final int LENGTH = 32;

  private final byte[] point;

  Ed25519Point(byte[] point) {
    if (point.length != LENGTH) {
      throw new IllegalArgumentException("an Ed25519 public key is 32 bytes, not " + point.length);
    }
    this.point = point.clone();
  }

  @Override
  public byte[] getPointEncoding() {
    return point.clone();
  }

  @Override
  public String getAlgorithm() {
    return "Ed25519";
  }

  @Override
  public String getFormat() {
    return "X.509";
  }

  @Override
  public byte[] getEncoded() {
    byte[] out = Arrays.copyOf(X509_PREFIX, X509_PREFIX.length + LENGTH);
    System.arraycopy(point, 0, out, X509_PREFIX.length, LENGTH);
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Ed25519Point p && Arrays.equals(point, p.point);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(point);
  }

  @Override
  public String toString() {
    return "Ed25519 public key " + HexFormat.of().formatHex(point);
  }
}
