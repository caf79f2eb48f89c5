package dev.keywarden.server.auth.jwt;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Bounded HTTP GETs of key documents: 5 s to connect, 10 s for the whole response, at most
 * {@link JwksDocument#MAX_BYTES}, no redirects, TLS against the system trust store or the role's CA certificates.
 * Failures are UNAVAILABLE with the URL and what went wrong, never the body.
 */
final class JwksFetcher {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  private final HttpClient client;

  /** A fetcher that trusts {@code caPem} (PEM certificates), or the system trust store when null. */
  JwksFetcher(String caPem) {
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER).proxy(HttpClient.Builder.NO_PROXY);
    if (caPem != null) {
      b.sslContext(sslContext(trustedCertificates(caPem)));
    }
    this.client = b.build();
  }

  /** The body of a 200 response to a GET of {@code url}, as UTF-8 text. */
  String get(String url) {
    HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(REQUEST_TIMEOUT)
        .header("Accept", "application/json").GET().build();
    HttpResponse<InputStream> response;
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      throw KeywardenException.unavailable("could not fetch " + Inputs.quoted(url) + ": " + describe(e), null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw KeywardenException.unavailable("interrupted while fetching " + Inputs.quoted(url), null);
    }
    try (InputStream body = response.body()) {
      if (response.statusCode() != 200) {
        throw KeywardenException.unavailable("fetching " + Inputs.quoted(url) + " answered HTTP "
            + response.statusCode(), null);
      }
      byte[] bytes = body.readNBytes(JwksDocument.MAX_BYTES + 1);
      if (bytes.length > JwksDocument.MAX_BYTES) {
        throw KeywardenException.unavailable(Inputs.quoted(url) + " answered more than " + JwksDocument.MAX_BYTES
            + " bytes", null);
      }
      return new String(bytes, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw KeywardenException.unavailable("could not read " + Inputs.quoted(url) + ": " + describe(e), null);
    }
  }

  /** The certificates of a PEM bundle; INVALID_ARGUMENT when there are none or one is malformed. */
  static List<X509Certificate> trustedCertificates(String pem) {
    List<X509Certificate> certs = new ArrayList<>();
    try {
      CertificateFactory f = CertificateFactory.getInstance("X.509");
      for (java.security.cert.Certificate c : f.generateCertificates(
          new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        certs.add((X509Certificate) c);
      }
    } catch (GeneralSecurityException | RuntimeException e) {
      throw KeywardenException.invalid("jwks_ca_pem is not PEM CA certificates");
    }
    if (certs.isEmpty() || certs.size() > 32) {
      throw KeywardenException.invalid("jwks_ca_pem holds " + certs.size() + " certificates; give 1 to 32");
    }
    return certs;
  }

  private static SSLContext sslContext(List<X509Certificate> trusted) {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < trusted.size(); i++) {
        store.setCertificateEntry("ca-" + i, trusted.get(i));
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      return ssl;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build a TLS context", e);
    }
  }

  private static String describe(IOException e) {
    String kind = e.getClass().getSimpleName();
    return e.getMessage() == null ? kind : kind + " (" + Inputs.quoted(e.getMessage()) + ")";
  }
}
