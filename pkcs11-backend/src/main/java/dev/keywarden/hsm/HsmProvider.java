package dev.keywarden.hsm;

/**
 * Opens an HSM. Chosen by configuration: PKCS#11 when a library is configured, the dev-only software provider otherwise.
 */
public interface HsmProvider {

  /** What this provider will open, before it is opened (no PIN needed). */
  HsmInfo describe();

  /**
   * Opens the HSM and logs in with this PIN. The caller zeroizes {@code pin} afterwards.
   * Errors: FAILED_PRECONDITION when the library will not load or the token is missing, UNAUTHENTICATED when the HSM
   * refuses the PIN, UNAVAILABLE when the HSM cannot be reached.
   */
  Hsm open(char[] pin);

  /**
   * True when the provider makes its own secret at init (the software provider); false when the operator must supply the
   * token's user PIN.
   */
  boolean generatesOwnPin();

  /** A fresh secret to use as the PIN, for providers that {@link #generatesOwnPin()}; otherwise unsupported. */
  default char[] newPin() {
    throw new UnsupportedOperationException("this HSM needs the operator's PIN");
  }
}
