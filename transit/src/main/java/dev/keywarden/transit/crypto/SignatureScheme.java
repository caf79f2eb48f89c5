package dev.keywarden.transit.crypto;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.Signature;

/**
 * What differs between signature families (ECDSA, Ed25519, RSA): which JCA algorithm the options select, which inputs
 * are refused, how input is fed, and how the JCA signature maps to the bytes users see. Everything else is shared by
 * {@link JcaSigningKey} and {@link JcaVerifyingKey}.
 */
interface SignatureScheme {

  /** Refuses options or input this family cannot take (INVALID_ARGUMENT). */
  void check(byte[] input, SignatureOptions options);

  /** A fresh, unkeyed Signature for the options. */
  Signature newSignature(SignatureOptions options) throws GeneralSecurityException;

  /** Feeds the input (some families prepend a header). */
  default void feed(Signature signature, byte[] input, SignatureOptions options) throws GeneralSecurityException {
    signature.update(input);
  }

  /** The JCA signature as users see it (e.g. ECDSA in JWS form). */
  default byte[] toWire(byte[] jca, SignatureOptions options) throws IOException {
    return jca;
  }

  /** The user's signature as JCA takes it; throws on a malformed one. */
  default byte[] fromWire(byte[] wire, SignatureOptions options) throws IOException {
    return wire;
  }
}
