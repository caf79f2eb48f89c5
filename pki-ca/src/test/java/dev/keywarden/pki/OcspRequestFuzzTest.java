package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keywarden.hsm.KeyType;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.bc.BcDigestCalculatorProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * OCSP requests come from anyone. Whatever the bytes, the responder answers with a well-formed OCSP response
 * (successful, malformedRequest or unauthorized), never an exception. The seeds are OpenSSL's requests about a
 * certificate of {@code ocsp-seed-issuer.pem}; the test puts this run's issuer's hashes where that issuer's are, so
 * mutations of them reach the signing path too.
 */
class OcspRequestFuzzTest {
  private static final Set<Integer> ANSWERS = Set.of(OCSPRespBuilder.SUCCESSFUL, OCSPRespBuilder.MALFORMED_REQUEST,
      OCSPRespBuilder.UNAUTHORIZED);
  @TempDir static Path dir;
  static PkiFixture fixture;
  static byte[][] seedHashes;
  static byte[][] liveHashes;

  @BeforeAll
  static void start() throws Exception {
    fixture = new PkiFixture(dir, Clock.systemUTC());
    IssuerInfo root = fixture.pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    X509CertificateHolder live = new X509CertificateHolder(fixture.pki.issuerChain(root.id()).get(0));
    X509CertificateHolder seed;
    try (InputStream in = OcspRequestFuzzTest.class.getResourceAsStream("ocsp-seed-issuer.pem")) {
      seed = new X509CertificateHolder(((X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(in)).getEncoded());
    }
    seedHashes = hashes(seed);
    liveHashes = hashes(live);
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  @FuzzTest
  void anyBytesGetAnOcspResponse(byte[] request) throws Exception {
    byte[] answer = fixture.pki.ocsp(retarget(request));
    int status = new OCSPResp(answer).getStatus();
    assertTrue(ANSWERS.contains(status), "status " + status);
  }

  /** Name and key hashes (SHA-1, SHA-256) of an issuer, as in CertIDs. */
  private static byte[][] hashes(X509CertificateHolder issuer) throws Exception {
    DigestCalculatorProvider digests = new BcDigestCalculatorProvider();
    CertificateID sha1 = new CertificateID(digests.get(CertificateID.HASH_SHA1), issuer, BigInteger.ONE);
    CertificateID sha256 = new CertificateID(digests.get(new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
        org.bouncycastle.asn1.nist.NISTObjectIdentifiers.id_sha256)), issuer, BigInteger.ONE);
    return new byte[][] {sha1.getIssuerNameHash(), sha1.getIssuerKeyHash(), sha256.getIssuerNameHash(),
        sha256.getIssuerKeyHash()};
  }

  private static byte[] retarget(byte[] request) {
    byte[] out = request.clone();
    for (int h = 0; h < seedHashes.length; h++) {
      byte[] from = seedHashes[h];
      for (int i = 0; i + from.length <= out.length; i++) {
        if (java.util.Arrays.equals(out, i, i + from.length, from, 0, from.length)) {
          System.arraycopy(liveHashes[h], 0, out, i, from.length);
        }
      }
    }
    return out;
  }
}
