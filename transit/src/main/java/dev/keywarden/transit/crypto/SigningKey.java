package dev.keywarden.transit.crypto;

/** A private signing key, parsed once and shared across threads. */
public interface SigningKey {

  /** Signs input (a message, or its digest when {@code options.prehashed()}). */
  byte[] sign(byte[] input, SignatureOptions options);

  /** The public key as DER SubjectPublicKeyInfo. */
  byte[] publicKeyDer();

  /** The public key as PEM ("-----BEGIN PUBLIC KEY-----"). */
  String publicKeyPem();
}
