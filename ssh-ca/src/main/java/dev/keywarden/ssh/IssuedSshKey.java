package dev.keywarden.ssh;

/** A key pair made for the caller (never stored) with its certificate; the private key in OpenSSH's format. */
public record IssuedSshKey(SignedSshCertificate certificate, String privateKeyOpenSsh, String publicKey) {
  @Override
  public String toString() {
    return "IssuedSshKey[certificate=" + certificate + ", privateKeyOpenSsh=(hidden), publicKey=" + publicKey + "]";
  }
}
