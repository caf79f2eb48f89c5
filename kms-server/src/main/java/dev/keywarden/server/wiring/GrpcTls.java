package dev.keywarden.server.wiring;

import dev.keywarden.server.config.ServerSettings;
import io.grpc.ServerBuilder;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import jakarta.inject.Singleton;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS for the gRPC server from --tls-cert/--tls-key, set on the Netty server builder here because micronaut-grpc's
 * own TLS settings cannot ask for client certificates. The server asks for (does not require) one, and the TLS layer
 * only checks that the client holds its key: which chains are trusted depends on the cert role, so the
 * {@code CertAuthenticator} verifies the whole chain against the role's issuers before any call is authenticated by it.
 */
@Singleton
public final class GrpcTls implements BeanCreatedEventListener<ServerBuilder<?>> {
  private final ServerSettings settings;

  public GrpcTls(ServerSettings settings) {
    this.settings = settings;
  }

  @Override
  public ServerBuilder<?> onCreated(BeanCreatedEvent<ServerBuilder<?>> event) {
    ServerBuilder<?> builder = event.getBean();
    if (settings.tlsCert() != null) {
      try {
        ((NettyServerBuilder) builder).sslContext(serverContext(settings.tlsCert(), settings.tlsKey()));
      } catch (SSLException e) {
        throw new IllegalStateException("cannot use --tls-cert/--tls-key: " + e.getMessage(), e);
      }
    }
    return builder;
  }

  /** The server's TLS: its certificate and key, client certificates asked for and accepted as presented. */
  public static SslContext serverContext(Path certChain, Path key) throws SSLException {
    return GrpcSslContexts.forServer(certChain.toFile(), key.toFile())
        .clientAuth(ClientAuth.OPTIONAL)
        .trustManager(new PresentedClientChains())
        .build();
  }

  /**
   * Accepts every client chain at the handshake and names no acceptable CA, so a client sends whichever certificate
   * it has. Never consulted for server chains. Trusting here is deliberate and safe only because the certificate
   * authenticates nothing until the cert authenticator has verified its chain.
   */
  static final class PresentedClientChains extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      requireChain(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      requireChain(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      requireChain(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("a server trust manager only");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("a server trust manager only");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("a server trust manager only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }

    private static void requireChain(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new CertificateException("empty client certificate chain");
      }
    }
  }
}
