package dev.keywarden.server.auth.jwt;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Date;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

/** Key documents are fetched with bounds: the role's CA or the system trust store, no redirects, a size limit. */
class JwksFetcherTest {
  static final String JWKS = "{\"keys\":[]}";

  static HttpServer plain(int status, byte[] body, String location) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    s.createContext("/", ex -> {
      if (location != null) {
        ex.getResponseHeaders().add("Location", location);
      }
      ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    s.start();
    return s;
  }

  @Test
  void aRoleCaIsTrustedForHttpsAndTheSystemStoreDoesNotKnowIt() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    KeyPair kp = g.generateKeyPair();
    X500Name name = new X500Name("CN=test issuer");
    X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name,
        BigInteger.ONE, new Date(System.currentTimeMillis() - 60_000), new Date(System.currentTimeMillis() + 3600_000),
        name, kp.getPublic())
        .addExtension(Extension.subjectAlternativeName, false,
            new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")))
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("k", kp.getPrivate(), "pw".toCharArray(), new java.security.cert.Certificate[] {cert});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "pw".toCharArray());
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(kmf.getKeyManagers(), null, null);
    HttpsServer s = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.setHttpsConfigurator(new HttpsConfigurator(ssl));
    s.createContext("/", ex -> {
      byte[] b = JWKS.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    s.start();
    try {
      String url = "https://127.0.0.1:" + s.getAddress().getPort() + "/jwks";
      String pem = "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder().encodeToString(cert.getEncoded())
          + "\n-----END CERTIFICATE-----\n";
      assertEquals(JWKS, new JwksFetcher(pem).get(url));
      KeywardenException e = assertThrows(KeywardenException.class, () -> new JwksFetcher(null).get(url));
      assertEquals(Kind.UNAVAILABLE, e.kind());
    } finally {
      s.stop(0);
    }
  }

  @Test
  void redirectsErrorsAndOversizedDocumentsAreUnavailable() throws Exception {
    HttpServer redirect = plain(302, new byte[0], "http://127.0.0.1:1/elsewhere");
    HttpServer missing = plain(404, "nope".getBytes(), null);
    HttpServer huge = plain(200, new byte[JwksDocument.MAX_BYTES + 10], null);
    try {
      for (HttpServer s : new HttpServer[] {redirect, missing, huge}) {
        String url = "http://127.0.0.1:" + s.getAddress().getPort() + "/jwks";
        KeywardenException e = assertThrows(KeywardenException.class, () -> new JwksFetcher(null).get(url));
        assertEquals(Kind.UNAVAILABLE, e.kind(), e.getMessage());
      }
      KeywardenException e = assertThrows(KeywardenException.class, () -> new JwksFetcher(null)
          .get("http://127.0.0.1:" + huge.getAddress().getPort() + "/jwks"));
      assertTrue(e.getMessage().contains("more than " + JwksDocument.MAX_BYTES), e.getMessage());
    } finally {
      redirect.stop(0);
      missing.stop(0);
      huge.stop(0);
    }
  }

  @Test
  void aCaBundleThatIsNotCertificatesIsRefusedAtRoleWrite() {
    assertThrows(KeywardenException.class, () -> JwksFetcher.trustedCertificates("not a pem"));
  }
}
