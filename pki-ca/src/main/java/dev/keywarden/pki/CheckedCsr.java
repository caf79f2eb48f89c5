package dev.keywarden.pki;

import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * A CSR that parsed, whose signature verifies, whose key is strong enough and whose names the role allows.
 *
 * @param publicKey the key to certify
 * @param names the requested names, normalized
 * @param rsa true for an RSA key (its certificate also gets keyEncipherment)
 */
public record CheckedCsr(SubjectPublicKeyInfo publicKey, RequestedNames names, boolean rsa) {}
