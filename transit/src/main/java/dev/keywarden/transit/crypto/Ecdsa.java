package dev.keywarden.transit.crypto;

import dev.keywarden.transit.KeyType;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Objects;
import org.bouncycastle.crypto.signers.PlainDSAEncoding;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;

/** ECDSA on Bouncy Castle's provider (JDK 17's is several times slower). Signs DER; JWS is re-encoded from it. */
final class Ecdsa {

  private Ecdsa() {
  }

  private static String algorithm(SignatureOptions options) {
    return options.prehashed() ? "NONEwithECDSA" : options.hash().jcaPrefix() + "withECDSA";
  }

  /** A private ECDSA key. */
  static final class Signing implements SigningKey {
    private final KeyType type;
    private final PrivateKey key;
    private final byte[] publicKeyDer;
    private final BigInteger order;

    Signing(KeyType type, PrivateKey key, byte[] publicKeyDer, BigInteger order) {
      this.type = type;
      this.key = key;
      this.publicKeyDer = publicKeyDer;
      this.order = order;
    }

    @Override
    public byte[] sign(byte[] input, SignatureOptions options) {
      Objects.requireNonNull(input, "input");
      Objects.requireNonNull(options, "options");
      Signatures.requireDigestLength(input, options);
      byte[] der;
      try {
        Signature signature = Signature.getInstance(algorithm(options), BouncyCastle.PROVIDER);
        signature.initSign(key, Signatures.RANDOM);
        signature.update(input);
        der = signature.sign();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(type.typeName() + " signing failed", e);
      }
      if (options.encoding() == SignatureEncoding.DER) {
        return der;
      }
      try {
        BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(order, der);
        return PlainDSAEncoding.INSTANCE.encode(order, rs[0], rs[1]);
      } catch (java.io.IOException e) {
        throw new IllegalStateException(type.typeName() + " signature re-encoding failed", e);
      }
    }

    @Override
    public byte[] publicKeyDer() {
      return publicKeyDer.clone();
    }

    @Override
    public String publicKeyPem() {
      return Signatures.publicKeyPem(publicKeyDer);
    }

    @Override
    public String toString() {
      return "SigningKey[" + type.typeName() + "]";
    }
  }

  /** A public ECDSA key. */
  static final class Verifying implements VerifyingKey {
    private final KeyType type;
    private final PublicKey key;
    private final BigInteger order;

    Verifying(KeyType type, PublicKey key, BigInteger order) {
      this.type = type;
      this.key = key;
      this.order = order;
    }

    @Override
    public boolean verify(byte[] input, byte[] signature, SignatureOptions options) {
      Objects.requireNonNull(input, "input");
      Objects.requireNonNull(options, "options");
      Signatures.requireDigestLength(input, options);
      if (signature == null) {
        return false;
      }
      try {
        byte[] der = signature;
        if (options.encoding() == SignatureEncoding.JWS) {
          // Strict: exactly twice the order length, each half below the order.
          BigInteger[] rs = PlainDSAEncoding.INSTANCE.decode(order, signature);
          der = StandardDSAEncoding.INSTANCE.encode(order, rs[0], rs[1]);
        }
        Signature verifier = Signature.getInstance(algorithm(options), BouncyCastle.PROVIDER);
        verifier.initVerify(key);
        verifier.update(input);
        return verifier.verify(der);
      } catch (GeneralSecurityException | RuntimeException | java.io.IOException e) {
        return false;
      }
    }

    @Override
    public String toString() {
      return "VerifyingKey[" + type.typeName() + "]";
    }
  }
}
