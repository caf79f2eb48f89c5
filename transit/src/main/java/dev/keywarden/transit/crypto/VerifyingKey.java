package dev.keywarden.transit.crypto;

/** A public verification key, parsed once and shared across threads. */
public interface VerifyingKey {

  /** True iff signature is valid for input; a malformed signature is false, never an exception. */
  boolean verify(byte[] input, byte[] signature, SignatureOptions options);
}
