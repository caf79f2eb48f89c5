package dev.keywarden.pki;

import dev.keywarden.encoding.Pem;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A certificate the CA issued.
 *
 * @param serialHex the serial, lower-case hex without separators (the storage key)
 * @param issuerId the issuer that signed it
 * @param certificateDer the certificate
 * @param chainDer the issuing CA first, up to and including the root
 * @param notAfter when it expires
 */
public record IssuedCertificate(String serialHex, String issuerId, byte[] certificateDer, List<byte[]> chainDer,
    Instant notAfter) {

  public IssuedCertificate {
    certificateDer = certificateDer.clone();
    chainDer = chainDer.stream().map(byte[]::clone).toList();
  }

  /** The chain (DER), issuing CA first; copies. */
  @Override
  public List<byte[]> chainDer() {
    return chainDer.stream().map(byte[]::clone).toList();
  }

  /** The certificate (DER); a copy, so callers cannot change this value. */
  @Override
  public byte[] certificateDer() {
    return certificateDer.clone();
  }

  /** The certificate as PEM. */
  public String certificatePem() {
    return Pem.certificate(certificateDer);
  }

  /** The chain as concatenated PEM, issuing CA first. */
  public String chainPem() {
    return chainDer.stream().map(Pem::certificate).collect(Collectors.joining());
  }
}
