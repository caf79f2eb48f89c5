/** The PKI CA engine: issuers whose keys live in the HSM, roles, issuance, revocation, CRL and OCSP. */
package dev.keywarden.pki;
