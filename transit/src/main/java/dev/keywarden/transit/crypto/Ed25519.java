package dev.keywarden.transit.crypto;

import dev.keywarden.failure.KeywardenException;
import java.security.GeneralSecurityException;
import java.security.Signature;

/** Ed25519 (PureEdDSA, RFC 8032) on Bouncy Castle's provider; the message is signed as it is. */
final class Ed25519 implements SignatureScheme {
  static final Ed25519 INSTANCE = new Ed25519();

  private Ed25519() {
  }

  @Override
  public void check(byte[] input, SignatureOptions options) {
    if (options.prehashed()) {
      throw KeywardenException.invalid("ed25519 signs the message itself; prehashed input is not supported");
    }
  }

  @Override
  public Signature newSignature(SignatureOptions options) throws GeneralSecurityException {
    return Signature.getInstance("Ed25519", BouncyCastle.PROVIDER);
  }
}
