package dev.keywarden.pki;

import static dev.keywarden.pki.TestKeys.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.names.IpLiterals;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;

class CsrCheckTest {
  private static final Role WEB = Role.builder("web").serverFlag(true).allowedDomains("example.com")
      .allowSubdomains(true).allowIpSans(true).allowedIpCidrs("10.0.0.0/8")
      .allowedUriSans("spiffe://example.org/ns/*/sa/*").build();

  private static String refusal(Role role, byte[] csr) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> CsrCheck.check(role, csr));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    return e.getMessage();
  }

  @Test
  void ecP256Ed25519AndRsa2048CsrsPass() throws Exception {
    for (KeyPair k : new KeyPair[] {ec("secp256r1"), ec("secp384r1"), ed25519(), rsa(2048)}) {
      byte[] csr = csr(k, "CN=API.example.com,O=ignored", List.of(dns("api.example.com"), dns("b.example.com"),
          ip("10.1.2.3"), uri("spiffe://example.org/ns/prod/sa/api")));
      CheckedCsr c = CsrCheck.check(WEB, csr);
      assertEquals("api.example.com", c.names().commonName().orElseThrow());
      assertEquals(List.of("api.example.com", "b.example.com"), c.names().dnsNames());
      assertEquals("10.1.2.3", IpLiterals.text(c.names().ipAddresses().get(0)));
      assertEquals(List.of(URI.create("spiffe://example.org/ns/prod/sa/api")), c.names().uris());
      assertEquals(k.getPublic().getAlgorithm().equals("RSA"), c.rsa());
    }
  }

  @Test
  void aCsrForAnX509SvidWithASecondUriSanIsRefused() throws Exception {
    Role mixed = Role.builder("workload").clientFlag(true)
        .allowedUriSans("spiffe://example.org/ns/*/sa/*", "https://*.example.org/*").build();
    KeyPair k = ec("secp256r1");
    String twoIds = refusal(mixed, csr(k, "", List.of(uri("spiffe://example.org/ns/prod/sa/api"),
        uri("spiffe://example.org/ns/prod/sa/admin"))));
    assertEquals("role 'workload': the request has 2 URI SANs ('spiffe://example.org/ns/prod/sa/api',"
        + " 'spiffe://example.org/ns/prod/sa/admin'), but an X509-SVID carries exactly one SPIFFE ID and no other URI"
        + " SAN: ask for one certificate per SPIFFE ID", twoIds);
    assertTrue(refusal(mixed, csr(k, "", List.of(uri("https://api.example.org/x"),
        uri("spiffe://example.org/ns/prod/sa/api")))).contains("an X509-SVID carries exactly one SPIFFE ID"));
    // One SPIFFE ID (the same one twice counts once), or URIs that are no SPIFFE ID, pass.
    assertEquals(List.of(URI.create("spiffe://example.org/ns/prod/sa/api")), CsrCheck.check(mixed, csr(k, "",
        List.of(uri("spiffe://example.org/ns/prod/sa/api"), uri("SPIFFE://example.org/ns/prod/sa/api")))).names()
        .uris());
    assertEquals(2, CsrCheck.check(mixed, csr(k, "", List.of(uri("https://a.example.org/x"),
        uri("https://b.example.org/y")))).names().uris().size());
  }

  @Test
  void pemCsrsAreReadToo() throws Exception {
    byte[] der = csr(ec("secp256r1"), "CN=a.example.com", List.of());
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(w)) {
      pem.writeObject(new PKCS10CertificationRequest(der));
    }
    assertEquals("a.example.com",
        CsrCheck.check(WEB, w.toString().getBytes(StandardCharsets.US_ASCII)).names().commonName().orElseThrow());
  }

  @Test
  void rsa1024CsrIsRefusedAsTooWeak() throws Exception {
    assertEquals("RSA 1024-bit key is too weak for role 'web': needs at least 2048",
        refusal(WEB, csr(rsa(1024), "CN=a.example.com", List.of())));
  }

  @Test
  void roleCanRaiseTheKeyFloorAndNarrowTheAlgorithms() throws Exception {
    Role strict = Role.builder("strict").serverFlag(true).allowedDomains("example.com").allowSubdomains(true)
        .minEcBits(384).csrKeyTypes(CsrKeyFamily.EC).build();
    assertEquals("EC P-256 key is too weak for role 'strict': needs at least P-384",
        refusal(strict, csr(ec("secp256r1"), "CN=a.example.com", List.of())));
    assertTrue(refusal(strict, csr(ed25519(), "CN=a.example.com", List.of()))
        .startsWith("Ed25519 keys are not accepted by role 'strict'"));
    assertTrue(refusal(WEB, csr(ec("secp521r1"), "CN=a.example.com", List.of())).contains("P-256 or P-384"));
  }

  @Test
  void csrWithABrokenSignatureIsRefused() throws Exception {
    byte[] csr = csr(ec("secp256r1"), "CN=a.example.com", List.of());
    csr[csr.length - 5] ^= 0x01; // inside the signature
    assertTrue(refusal(WEB, csr).startsWith("the CSR's signature does not verify"));
  }

  @Test
  void csrSignedByAnotherKeyIsRefused() throws Exception {
    KeyPair holder = ec("secp256r1");
    KeyPair other = ec("secp256r1");
    byte[] csr = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
        new org.bouncycastle.asn1.x500.X500Name("CN=a.example.com"), holder.getPublic()).build(signer(other))
        .getEncoded();
    assertTrue(refusal(WEB, csr).startsWith("the CSR's signature does not verify"));
  }

  @Test
  void garbageIsNotACsr() {
    assertTrue(refusal(WEB, "hello".getBytes(StandardCharsets.US_ASCII))
        .startsWith("the CSR is not a PKCS#10 certificate request in PEM or DER"));
    assertEquals("the CSR is empty", refusal(WEB, new byte[0]));
  }

  @Test
  void deeplyNestedBerIsRefusedNotAStackOverflow() {
    byte[] deep = new byte[60 * 1024];
    for (int i = 0; i + 1 < deep.length; i += 2) {
      deep[i] = 0x30;
      deep[i + 1] = (byte) 0x80;
    }
    assertTrue(refusal(WEB, deep).contains("indefinite length"));
    String pem = "-----BEGIN CERTIFICATE REQUEST-----\n"
        + java.util.Base64.getMimeEncoder().encodeToString(java.util.Arrays.copyOf(deep, 40 * 1024))
        + "\n-----END CERTIFICATE REQUEST-----\n";
    assertTrue(refusal(WEB, pem.getBytes(StandardCharsets.US_ASCII)).contains("indefinite length"));
  }

  @Test
  void namesOutsideTheRoleAreRefusedWithTheRuleNamed() throws Exception {
    KeyPair k = ec("secp256r1");
    assertEquals("'evil.com' is not allowed by role 'web': not within allowed_domains [example.com]"
        + " (allow_bare_domains is off, allow_subdomains is on, allow_glob_domains is off)",
        refusal(WEB, csr(k, "CN=a.example.com", List.of(dns("evil.com")))));
    assertEquals("'11.0.0.1' is not allowed by role 'web': not within allowed_ip_cidrs [10.0.0.0/8]",
        refusal(WEB, csr(k, "CN=a.example.com", List.of(ip("11.0.0.1")))));
    assertTrue(refusal(WEB, csr(k, "CN=a.example.com", List.of(uri("spiffe://example.org/ns/a/b/sa/c"))))
        .startsWith("'spiffe://example.org/ns/a/b/sa/c' is not allowed by role 'web': not matched by"
            + " allowed_uri_sans"));
    assertTrue(refusal(WEB, csr(k, "CN=a.example.com",
        List.of(new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.rfc822Name,
            "a@example.com")))).contains("email (rfc822Name) SAN"));
    assertEquals("'*.example.com' is not allowed by role 'web': allow_wildcard is off",
        refusal(WEB, csr(k, "CN=*.example.com", List.of())));
  }

  @Test
  void csrWithNoNamesIsRefused() throws Exception {
    assertTrue(refusal(WEB, csr(ec("secp256r1"), "O=nobody", List.of())).startsWith("the CSR names nothing"));
  }
}
