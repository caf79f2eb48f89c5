package dev.keywarden.pki;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.failure.KeywardenException;

/**
 * CSRs are caller input, PEM or DER. Whatever the bytes, CsrCheck gives a checked CSR or refuses with
 * KeywardenException, against a role that allows every kind of name so that the name rules run too. Seeds: OpenSSL's
 * CSRs (EC P-256 with DNS, IP and URI SANs, RSA 2048, Ed25519), PEM and DER.
 */
class CsrFuzzTest {
  private static final Role ANY = Role.fromJson("{\"name\":\"any\",\"server_flag\":true,\"client_flag\":true,"
      + "\"allowed_domains\":[\"example.com\"],\"allow_subdomains\":true,\"allow_bare_domains\":true,"
      + "\"allow_wildcard\":true,\"allow_localhost\":true,\"allow_ip_sans\":true,"
      + "\"allowed_uri_sans\":[\"spiffe://example.com/*\",\"https://*.example.com/*\"]}");

  @FuzzTest
  void anyCsrIsCheckedOrRefused(byte[] csr) {
    try {
      CsrCheck.check(ANY, csr);
    } catch (KeywardenException refused) {
      // refused
    }
  }
}
