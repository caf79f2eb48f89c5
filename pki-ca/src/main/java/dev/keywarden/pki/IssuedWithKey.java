package dev.keywarden.pki;

import dev.keywarden.hsm.KeyType;
/**
 * A certificate with the private key the CA made for it (the key is not stored anywhere).
 *
 * @param certificate the certificate and its chain
 * @param privateKeyPem the private key as unencrypted PKCS#8 PEM ("PRIVATE KEY")
 * @param keyType the key's type, from the role
 */
public record IssuedWithKey(IssuedCertificate certificate, String privateKeyPem, KeyType keyType) {
  @Override
  public String toString() {
    return "IssuedWithKey[serial=" + certificate.serialHex() + ", keyType=" + keyType.typeName() + "]";
  }
}
