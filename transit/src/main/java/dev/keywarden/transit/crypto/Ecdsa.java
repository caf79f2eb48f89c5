package dev.keywarden.transit.crypto;

import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.Signature;
import org.bouncycastle.crypto.signers.PlainDSAEncoding;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;

/** ECDSA on Bouncy Castle's provider (JDK 17's is several times slower). Signs DER; JWS is re-encoded from it. */
final class Ecdsa implements SignatureScheme {
  private final BigInteger order;

  Ecdsa(BigInteger order) {
    this.order = order;
  }

  @Override
  public void check(byte[] input, SignatureOptions options) {
    Signatures.requireDigestLength(input, options);
  }

  @Override
  public Signature newSignature(SignatureOptions options) throws GeneralSecurityException {
    return Signature.getInstance(options.prehashed() ? "NONEwithECDSA" : options.hash().jcaPrefix() + "withECDSA",
        BouncyCastle.PROVIDER);
  }

  @Override
  public byte[] toWire(byte[] der, SignatureOptions options) throws IOException {
    if (options.encoding() == SignatureEncoding.DER) {
      return der;
    }
    BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(order, der);
    return PlainDSAEncoding.INSTANCE.encode(order, rs[0], rs[1]);
  }

  @Override
  public byte[] fromWire(byte[] signature, SignatureOptions options) throws IOException {
    if (options.encoding() == SignatureEncoding.DER) {
      return signature;
    }
    // Strict: exactly twice the order length, each half below the order.
    BigInteger[] rs = PlainDSAEncoding.INSTANCE.decode(order, signature);
    return StandardDSAEncoding.INSTANCE.encode(order, rs[0], rs[1]);
  }
}
