package dev.keywarden.pki;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Where an issuer is in its life: waiting for its certificate, issuing, or replaced and only publishing status. */
public enum IssuerState {
  /** Its key is in the HSM and its CSR is out with an external CA; it cannot issue or sign a CRL yet. */
  PENDING,
  /** It issues certificates and publishes its CRL and OCSP. */
  ACTIVE,
  /** A rotation replaced it: it issues nothing more but serves its CRL and OCSP until what it issued has expired. */
  RETIRED;

  /** The stored and displayed name, e.g. "active". */
  @JsonValue
  public String stateName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a stored name; records written before issuer states existed have none and are active. */
  @JsonCreator
  static IssuerState parse(String name) {
    return name == null ? ACTIVE : valueOf(name.toUpperCase(Locale.ROOT));
  }
}
