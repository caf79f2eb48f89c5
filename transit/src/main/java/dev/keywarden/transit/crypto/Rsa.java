package dev.keywarden.transit.crypto;

import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;

/**
 * RSA signatures on Bouncy Castle's provider. PKCS#1 v1.5 over a digest prepends the DigestInfo header itself; PSS uses
 * MGF1 with the message hash and a salt as long as the hash.
 */
final class Rsa implements SignatureScheme {
  static final Rsa INSTANCE = new Rsa();

  private Rsa() {
  }

  @Override
  public void check(byte[] input, SignatureOptions options) {
    Signatures.requireDigestLength(input, options);
  }

  @Override
  public Signature newSignature(SignatureOptions options) throws GeneralSecurityException {
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

  @Override
  public void feed(Signature signature, byte[] input, SignatureOptions options) throws GeneralSecurityException {
    if (options.prehashed() && options.rsaPadding() == RsaPadding.PKCS1V15) {
      signature.update(options.hash().digestInfoPrefix());
    }
    signature.update(input);
  }
}
