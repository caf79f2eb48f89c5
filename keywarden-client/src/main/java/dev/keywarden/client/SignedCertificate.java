package dev.keywarden.client;

import java.time.Instant;
import java.util.List;

/**
 * A certificate the CA issued.
 *
 * @param certificatePem the new certificate, PEM
 * @param chainPem the issuing CA first, up to the root, one PEM certificate per entry
 * @param serial the serial, lower-case hex
 * @param issuerId the issuer that signed it
 * @param notAfter when it expires
 */
public record SignedCertificate(String certificatePem, List<String> chainPem, String serial, String issuerId,
    Instant notAfter) {
  /** Copies the chain. */
  public SignedCertificate {
    chainPem = List.copyOf(chainPem);
  }

  /** The certificate followed by its chain, as TLS servers and {@code openssl verify -untrusted} take it. */
  public String fullChainPem() {
    StringBuilder out = new StringBuilder(certificatePem.strip()).append('\n');
    for (String pem : chainPem) {
      out.append(pem.strip()).append('\n');
    }
    return out.toString();
  }
}
