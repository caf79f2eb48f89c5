package dev.keywarden.transit.crypto;

import dev.keywarden.transit.KeyType;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Objects;

/** A public key of any signing family. A malformed signature verifies false; it never throws. */
final class JcaVerifyingKey implements VerifyingKey {
  private final KeyType type;
  private final PublicKey key;
  private final SignatureScheme scheme;

  JcaVerifyingKey(KeyType type, PublicKey key, SignatureScheme scheme) {
    this.type = type;
    this.key = key;
    this.scheme = scheme;
  }

  @Override
  public boolean verify(byte[] input, byte[] signature, SignatureOptions options) {
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(options, "options");
    scheme.check(input, options);
    if (signature == null) {
      return false;
    }
    try {
      byte[] jca = scheme.fromWire(signature, options);
      Signature verifier = scheme.newSignature(options);
      verifier.initVerify(key);
      scheme.feed(verifier, input, options);
      return verifier.verify(jca);
    } catch (GeneralSecurityException | IOException | RuntimeException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return "VerifyingKey[" + type.typeName() + "]";
  }
}
