package dev.keywarden.transit.crypto;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.transit.KeyType;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Objects;

/** Ed25519 (PureEdDSA, RFC 8032) on Bouncy Castle's provider; the message is signed as it is. */
final class Ed25519 {

  private static final String ALGORITHM = "Ed25519";

  private Ed25519() {
  }

  private static void refusePrehashed(SignatureOptions options) {
    if (options.prehashed()) {
      throw KeywardenException.invalid("ed25519 signs the message itself; prehashed input is not supported");
    }
  }

  /** A private Ed25519 key. */
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
      refusePrehashed(options);
      try {
        Signature signature = Signature.getInstance(ALGORITHM, BouncyCastle.PROVIDER);
        signature.initSign(key);
        signature.update(input);
        return signature.sign();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("ed25519 signing failed", e);
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

  /** A public Ed25519 key. */
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
      refusePrehashed(options);
      if (signature == null) {
        return false;
      }
      try {
        Signature verifier = Signature.getInstance(ALGORITHM, BouncyCastle.PROVIDER);
        verifier.initVerify(key);
        verifier.update(input);
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
