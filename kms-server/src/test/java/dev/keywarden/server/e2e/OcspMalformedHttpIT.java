package dev.keywarden.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.keywarden.hsm.KeyType;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.ocsp.CertID;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.operator.bc.BcDigestCalculatorProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an independent probe sent the OCSP endpoint: a body that is not a request, a CertID with an unknown hash
 * algorithm, a wrong ASN.1 tag, a garbage GET path. Each gets HTTP 200 and an OCSP response (malformedRequest, or
 * unauthorized for the unknown algorithm), never HTTP 500 with Java's exception text.
 */
class OcspMalformedHttpIT {
  @TempDir
  Path dir;

  @Test
  void malformedOcspRequestsGetOcspAnswersOverHttp() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    int http = KeywardenProcesses.freePort();
    String ocsp = "http://127.0.0.1:" + http + "/v1/pki/ocsp";
    ServerSettings settings = new ServerSettings(dir.resolve("data"),
        new HostPort("127.0.0.1", KeywardenProcesses.freePort()), new HostPort("127.0.0.1", http),
        token.library(), token.label(), 4, null, null).validate();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      HttpClient client = HttpClient.newHttpClient();
      assertAnswer(OCSPResp.MALFORMED_REQUEST, post(client, ocsp, "garbage".getBytes(StandardCharsets.US_ASCII)),
          "garbage while sealed");

      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, token.pin(), false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      PkiEngine pki = server.bean(PkiEngine.class);
      IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
      CertID real = new CertificateID(new BcDigestCalculatorProvider().get(CertificateID.HASH_SHA1),
          new X509CertificateHolder(pki.issuerChain(root.id()).get(0)), BigInteger.TEN).toASN1Primitive();

      assertAnswer(OCSPResp.SUCCESSFUL, post(client, ocsp, request(real)), "a real request");
      assertAnswer(OCSPResp.MALFORMED_REQUEST, post(client, ocsp, new byte[] {0x30, 0x03, 0x02, 0x01}), "truncated");
      assertAnswer(OCSPResp.MALFORMED_REQUEST, post(client, ocsp, new byte[0]), "empty body");
      CertID unknownHash = new CertID(new AlgorithmIdentifier(new ASN1ObjectIdentifier("1.2.3.4.5.6")),
          real.getIssuerNameHash(), real.getIssuerKeyHash(), real.getSerialNumber());
      assertAnswer(OCSPResp.UNAUTHORIZED, post(client, ocsp, request(unknownHash)), "unknown hash algorithm");
      ASN1EncodableVector wrongTag = new ASN1EncodableVector();
      wrongTag.add(new AlgorithmIdentifier(CertificateID.HASH_SHA1.getAlgorithm()));
      wrongTag.add(new ASN1Integer(1)); // an INTEGER where issuerNameHash's OCTET STRING belongs
      wrongTag.add(new DEROctetString(new byte[20]));
      wrongTag.add(new ASN1Integer(10));
      byte[] wrong = new DERSequence(new DERSequence(new DERSequence(new DERSequence(new DERSequence(wrongTag)))))
          .getEncoded();
      assertAnswer(OCSPResp.MALFORMED_REQUEST, post(client, ocsp, wrong), "wrong ASN.1 tag");
      assertAnswer(OCSPResp.MALFORMED_REQUEST, get(client, ocsp + "/%21%40not-base64%7E"), "garbage GET path");
      assertAnswer(OCSPResp.MALFORMED_REQUEST, get(client, ocsp + "/AAAA"), "base64 of no request");
    }
  }

  private static byte[] request(CertID id) throws Exception {
    return new OCSPReqBuilder().addRequest(new CertificateID(id)).build().getEncoded();
  }

  private static void assertAnswer(int status, HttpResponse<byte[]> response, String what) throws Exception {
    String text = new String(response.body(), StandardCharsets.ISO_8859_1);
    assertEquals(200, response.statusCode(), what + ": " + text);
    assertEquals("application/ocsp-response", response.headers().firstValue("content-type").orElse(""), what);
    assertFalse(text.contains("Exception") || text.contains("java."), what + ": " + text);
    assertEquals(status, new OCSPResp(response.body()).getStatus(), what);
  }

  private static HttpResponse<byte[]> post(HttpClient client, String url, byte[] body) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(url)).header("content-type", "application/ocsp-request")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static HttpResponse<byte[]> get(HttpClient client, String url) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
  }
}
