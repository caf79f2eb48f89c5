package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.keywarden.hsm.KeyType;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.ocsp.CertID;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.operator.bc.BcDigestCalculatorProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests an independent probe sent: whatever the bytes, the answer is an OCSP response (malformedRequest or
 * unauthorized), never an exception that the server would turn into HTTP 500 with Java's text.
 */
class OcspMalformedRequestTest {
  @TempDir static Path dir;
  static PkiFixture fixture;
  static X509CertificateHolder root;

  @BeforeAll
  static void start() throws Exception {
    fixture = new PkiFixture(dir, Clock.systemUTC());
    IssuerInfo info = fixture.pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    root = new X509CertificateHolder(fixture.pki.issuerChain(info.id()).get(0));
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  static byte[] request(CertID id) throws Exception {
    return new OCSPReqBuilder().addRequest(new CertificateID(id)).build().getEncoded();
  }

  static CertID sha1Id(BigInteger serial) throws Exception {
    return new CertificateID(new BcDigestCalculatorProvider().get(CertificateID.HASH_SHA1), root, serial)
        .toASN1Primitive();
  }

  int status(byte[] request) throws Exception {
    return new OCSPResp(fixture.pki.ocsp(request)).getStatus();
  }

  @Test
  void aWellFormedRequestForThisIssuerIsAnswered() throws Exception {
    assertEquals(OCSPRespBuilder.SUCCESSFUL, status(request(sha1Id(BigInteger.TEN))));
  }

  @Test
  void anUnknownHashAlgorithmIsUnauthorized() throws Exception {
    CertID real = sha1Id(BigInteger.TEN);
    CertID unknown = new CertID(new AlgorithmIdentifier(new ASN1ObjectIdentifier("1.2.3.4.5.6"), DERNull.INSTANCE),
        real.getIssuerNameHash(), real.getIssuerKeyHash(), real.getSerialNumber());
    assertEquals(OCSPRespBuilder.UNAUTHORIZED, status(request(unknown)));
  }

  @Test
  void anUnknownHashAlgorithmBesideAKnownOneIsAnsweredForTheKnownOne() throws Exception {
    CertID real = sha1Id(BigInteger.TEN);
    CertID unknown = new CertID(new AlgorithmIdentifier(new ASN1ObjectIdentifier("1.2.3.4.5.6")),
        real.getIssuerNameHash(), real.getIssuerKeyHash(), real.getSerialNumber());
    byte[] both = new OCSPReqBuilder().addRequest(new CertificateID(unknown)).addRequest(new CertificateID(real))
        .build().getEncoded();
    assertEquals(OCSPRespBuilder.SUCCESSFUL, status(both));
  }

  @Test
  void aWrongTagInsideTheCertIdIsMalformed() throws Exception {
    // CertID's issuerNameHash an INTEGER instead of an OCTET STRING: Bouncy Castle threw ClassCastException late.
    ASN1EncodableVector certId = new ASN1EncodableVector();
    certId.add(new AlgorithmIdentifier(CertificateID.HASH_SHA1.getAlgorithm()));
    certId.add(new ASN1Integer(1));
    certId.add(new DEROctetString(new byte[20]));
    certId.add(new ASN1Integer(10));
    byte[] req = new DERSequence(new DERSequence(new DERSequence(new DERSequence(new DERSequence(certId)))))
        .getEncoded();
    assertEquals(OCSPRespBuilder.MALFORMED_REQUEST, status(req));
  }

  @Test
  void everyByteFlippedInARealRequestStillGetsAnOcspResponse() throws Exception {
    byte[] real = request(sha1Id(BigInteger.TEN));
    for (int i = 0; i < real.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] mutated = real.clone();
        mutated[i] ^= (byte) (1 << bit);
        status(mutated); // parses as an OCSP response: no exception
      }
    }
  }

  @Test
  void garbageEmptyOversizedTrailingAndDeeplyNestedAreMalformed() throws Exception {
    byte[] real = request(sha1Id(BigInteger.TEN));
    byte[] trailing = java.util.Arrays.copyOf(real, real.length + 1);
    byte[] deep = new byte[16 * 1024];
    for (int i = 0; i + 1 < deep.length; i += 2) {
      deep[i] = 0x30;
      deep[i + 1] = (byte) 0x80; // indefinite length: nesting costs two bytes a level
    }
    for (byte[] bad : new byte[][] {"not ocsp".getBytes(), new byte[0], null, new byte[16 * 1024 + 1], trailing, deep,
        new byte[] {0x30, (byte) 0x84, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff}}) {
      assertEquals(OCSPRespBuilder.MALFORMED_REQUEST, status(bad));
    }
  }

  @Test
  void aNegativeOrHugeSerialIsUnknownNotAnError() throws Exception {
    assertEquals(OCSPRespBuilder.SUCCESSFUL, status(request(sha1Id(BigInteger.valueOf(-5)))));
    assertEquals(OCSPRespBuilder.SUCCESSFUL, status(request(sha1Id(BigInteger.ONE.shiftLeft(4000)))));
  }
}
