package dev.keywarden.unseal;

import dev.keywarden.hsm.KekIdentity;
import java.util.Arrays;

/**
 * What the seal envelope protects: what opens the HSM (the token's user PIN) and which key on it is the KEK.
 * Secret: {@link #destroy()} when done; never printed.
 */
public record SealEnvelope(KekIdentity kek, char[] pin) {

  /** Zeroizes the PIN. */
  public void destroy() {
    Arrays.fill(pin, '\0');
  }

  @Override
  public String toString() {
    return "SealEnvelope[kek=" + kek.label() + "]";
  }
}
