package dev.keywarden.transit.crypto;

import dev.keywarden.transit.KeyType;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Objects;

/**
 * RSA signatures on Bouncy Castle's provider. PKCS#1 v1.5 over a digest prepends the DigestInfo header itself; PSS uses
 * MGF1 with the message hash and a salt as long as the hash.
 */
final class Rsa {

  private Rsa() {
  }

  /** A ready Signature for the options; input still has to be fed (with {@link #input}). */
  private static Signature signature(SignatureOptions options) throws GeneralSecurityException {
    HashAlgorithm hash = options.hash();
    if (options.rsaPadding() == RsaPadding.PKCS1V15) {
      return Signature.getInstance(options.prehashed() ? "NONEwithRSA" : hash.jcaPrefix() + "withRSA",
          BouncyCastle.PROVIDER);
    }
    Signature signature = Signature.getInstance(options.prehashed() ? "NONEwithRSASSA-PSS" : "RSASSA-PSS",
        BouncyCastle.PROVIDER);
    signature.setParameter(new PSSParameterSpec(hash.jcaName(), "MGF1", new MGF1ParameterSpec(hash.jcaName()),
        hash.length(), PSSParameterSpec.TRAILER_FIELD_BC));
    return signature;
  }

  private static void input(Signature signature, byte[] input, SignatureOptions options)
      throws GeneralSecurityException {
    if (options.prehashed() && options.rsaPadding() == RsaPadding.PKCS1V15) {
      signature.update(options.hash().digestInfoPrefix());
    }
    signature.update(input);
  }

  /** A private RSA key. */
  static final class Signing implements SigningKey {
    private final KeyType type;
    private final PrivateKey key;
    private final byte[] publicKeyDer;

    Signing(KeyType type, PrivateKey key, byte[] publicKeyDer) {
      this.type = type;
      this.key = key;
      this.publicKeyDer = publicKeyDer;
    }

    @Override
    public byte[] sign(byte[] input, SignatureOptions options) {
      Objects.requireNonNull(input, "input");
      Objects.requireNonNull(options, "options");
      Signatures.requireDigestLength(input, options);
      try {
        Signature signature = signature(options);
        signature.initSign(key, Signatures.RANDOM);
        input(signature, input, options);
        return signature.sign();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(type.typeName() + " signing failed", e);
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

  /** A public RSA key. */
  static final class Verifying implements VerifyingKey {
    private final KeyType type;
    private final PublicKey key;

    Verifying(KeyType type, PublicKey key) {
      this.type = type;
      this.key = key;
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
        Signature verifier = signature(options);
        verifier.initVerify(key);
        input(verifier, input, options);
        return verifier.verify(signature);
      } catch (GeneralSecurityException | RuntimeException e) {
        return false;
      }
    }

    @Override
    public String toString() {
      return "VerifyingKey[" + type.typeName() + "]";
    }
  }
}
