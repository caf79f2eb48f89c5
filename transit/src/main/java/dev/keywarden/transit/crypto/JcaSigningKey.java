package dev.keywarden.transit.crypto;

import dev.keywarden.transit.KeyType;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.util.Objects;

/** A private key of any signing family, parsed once and shared across threads. */
final class JcaSigningKey implements SigningKey {
  private final KeyType type;
  private final PrivateKey key;
  private final byte[] publicKeyDer;
  private final SignatureScheme scheme;

  JcaSigningKey(KeyType type, PrivateKey key, byte[] publicKeyDer, SignatureScheme scheme) {
    this.type = type;
    this.key = key;
    this.publicKeyDer = publicKeyDer;
    this.scheme = scheme;
  }

  @Override
  public byte[] sign(byte[] input, SignatureOptions options) {
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(options, "options");
    scheme.check(input, options);
    try {
      Signature signature = scheme.newSignature(options);
      signature.initSign(key, Signatures.RANDOM);
      scheme.feed(signature, input, options);
      return scheme.toWire(signature.sign(), options);
    } catch (GeneralSecurityException | IOException e) {
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
