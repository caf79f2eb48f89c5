package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import dev.keywarden.hsm.testing.SoftHsmToken;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A CA whose keys never leave SoftHSM2: root and leaf signatures are PKCS#11 calls, and OpenSSL accepts the chain. */
class HsmContentSignerTest {
  @TempDir
  Path dir;

  @Test
  void aRootInTheHsmIssuesALeafThatOpensslVerifies() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    char[] pin = token.pin();
    try (Hsm hsm = token.provider(2).open(pin)) {
      for (Object[] c : new Object[][] {
          {KeyPairAlgorithm.EC_P256, SignatureAlgorithm.ECDSA_SHA256},
          {KeyPairAlgorithm.ED25519, SignatureAlgorithm.ED25519},
          {KeyPairAlgorithm.RSA_2048, SignatureAlgorithm.RSA_PSS_SHA256}}) {
        KeyPairAlgorithm algorithm = (KeyPairAlgorithm) c[0];
        SignatureAlgorithm signature = (SignatureAlgorithm) c[1];
        HsmKeyId id = hsm.generateKeyPair("ca-" + algorithm, algorithm);
        HsmSigner signer = hsm.signer(id);
        CertificateTemplate template = new CertificateTemplate(Clock.systemUTC(), new SecureRandom());
        X509CertificateHolder root = template.selfSignedRoot(new X500Name("CN=Keywarden Test Root " + algorithm),
            SubjectPublicKeyInfo.getInstance(signer.publicKey().getEncoded()), Duration.ofDays(1), Optional.of(1),
            new HsmContentSigner(signer, signature));

        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair leafKey = g.generateKeyPair();
        Role role = Role.fromJson("{\"name\":\"web\",\"allowed_domains\":[\"example.com\"],"
            + "\"allow_subdomains\":true,\"server_flag\":true,\"ttl\":\"1h\",\"max_ttl\":\"2h\"}");
        HsmContentSigner leafSigner = new HsmContentSigner(signer, signature);
        CertificateTemplate.Leaf issued = template.leaf(new Issuer("root", root, Optional.empty()), role,
            SubjectPublicKeyInfo.getInstance(leafKey.getPublic().getEncoded()), false,
            new RequestedNames(Optional.of("api.example.com"), List.of("api.example.com"), List.of(), List.of()),
            Optional.empty(), leafSigner);
        X509CertificateHolder leaf = issued.certificate();
        // The DER made from the bytes signed is the certificate's own encoding.
        assertArrayEquals(leaf.getEncoded(), issued.der(), algorithm.toString());
        assertEquals(leaf.getNotAfter().toInstant(), issued.notAfter());

        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        X509Certificate rootCert = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(root.getEncoded()));
        X509Certificate leafCert = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(leaf.getEncoded()));
        leafCert.verify(signer.publicKey(), new org.bouncycastle.jce.provider.BouncyCastleProvider());
        Path rootPem = pem(rootCert.getEncoded(), "root-" + algorithm);
        Path leafPem = pem(leafCert.getEncoded(), "leaf-" + algorithm);
        Process p = new ProcessBuilder("openssl", "verify", "-CAfile", rootPem.toString(), "-purpose", "sslserver",
            leafPem.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), algorithm + ": " + out);
        assertTrue(out.contains(": OK"), out);
      }
    } finally {
      java.util.Arrays.fill(pin, '\0');
    }
  }

  private Path pem(byte[] der, String name) throws Exception {
    Path file = dir.resolve(name + ".pem");
    Files.writeString(file, "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END CERTIFICATE-----\n");
    return file;
  }
}
