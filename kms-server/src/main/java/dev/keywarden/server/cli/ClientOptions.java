package dev.keywarden.server.cli;

import dev.keywarden.failure.KeywardenException;
import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.okhttp.OkHttpChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import picocli.CommandLine.Option;

/**
 * Options every client command shares: where the server is, the credentials (a token, or a TLS client certificate a
 * cert role accepts), the output format. {@link ClientCommand} extends it rather than holding it as a picocli
 * {@code @Mixin}: picocli finds options in superclasses all the same, and each annotation type it reads costs a client
 * call a run-time proxy class (about 10 ms of CPU), which {@code @Mixin} would add.
 */
public abstract class ClientOptions {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> CERT_ROLE =
      Metadata.Key.of("keywarden-cert-role", Metadata.ASCII_STRING_MARSHALLER);

  @Option(names = "--addr", description = "Server address host:port (env KEYWARDEN_ADDR; default 127.0.0.1:8400).")
  String addr;

  @Option(names = "--token", description = "Token (env KEYWARDEN_TOKEN).")
  String token;

  @Option(names = "--format", description = "Output: text or json.", defaultValue = "text")
  OutputFormat format;

  @Option(names = "--ca-cert", description = "PEM CA certificate to verify a TLS server with (env KEYWARDEN_CACERT).")
  Path caCert;

  @Option(names = "--client-cert", description = "PEM client certificate (and chain) to present over TLS; a cert role"
      + " that accepts it authenticates the calls without a token (env KEYWARDEN_CLIENT_CERT).")
  Path clientCert;

  @Option(names = "--client-key", description = "PEM (PKCS#8) private key of --client-cert (env KEYWARDEN_CLIENT_KEY).")
  Path clientKey;

  @Option(names = "--cert-role", description = "The cert role the client certificate is checked against, when it"
      + " matches several (env KEYWARDEN_CERT_ROLE).")
  String certRole;

  /** The server address: --addr, else KEYWARDEN_ADDR, else the default. */
  String target() {
    return addr != null ? addr : env("KEYWARDEN_ADDR", "127.0.0.1:8400");
  }

  /** True when the client talks TLS (a CA certificate was given). */
  boolean tls() {
    return caCertificate() != null;
  }

  private Path caCertificate() {
    return caCert != null ? caCert : envPath("KEYWARDEN_CACERT");
  }

  /**
   * Opens a channel to the server; the caller closes it. grpc-java's OkHttp transport with the JDK's TLS: a client
   * call starts no Netty (the server's transport), which takes most of a short CLI run to load.
   */
  ManagedChannel openChannel() throws SSLException {
    Path ca = caCertificate();
    Path cert = clientCert != null ? clientCert : envPath("KEYWARDEN_CLIENT_CERT");
    Path key = clientKey != null ? clientKey : envPath("KEYWARDEN_CLIENT_KEY");
    if ((cert == null) != (key == null)) {
      throw KeywardenException.invalid("--client-cert and --client-key go together (env KEYWARDEN_CLIENT_CERT and"
          + " KEYWARDEN_CLIENT_KEY)");
    }
    // Batch responses can be larger than the request (ciphertext is a third longer than plaintext).
    OkHttpChannelBuilder builder = OkHttpChannelBuilder.forTarget(target()).maxInboundMessageSize(64 << 20);
    if (ca != null) {
      try {
        builder.sslSocketFactory(ClientTls.socketFactory(ca, cert, key));
      } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
        throw new SSLException("cannot use the CA certificate " + ca + " (--ca-cert or KEYWARDEN_CACERT)"
            + (cert != null ? " or the client certificate " + cert : "") + ": "
            + (e.getCause() != null && e.getCause().getMessage() != null ? e.getCause().getMessage() : e.getMessage()),
            e);
      }
    } else if (cert != null) {
      throw KeywardenException.invalid("--client-cert needs TLS: give the server's CA with --ca-cert"
          + " (env KEYWARDEN_CACERT)");
    } else {
      builder.usePlaintext();
    }
    return builder.build();
  }

  /** The call's headers: the bearer token and the cert role, when set; null when neither is. */
  CallCredentials credentials() {
    String t = token != null ? token : System.getenv("KEYWARDEN_TOKEN");
    String role = certRole != null ? certRole : System.getenv("KEYWARDEN_CERT_ROLE");
    Metadata headers = new Metadata();
    if (t != null && !t.isBlank()) {
      headers.put(AUTHORIZATION, "Bearer " + t.trim());
    }
    if (role != null && !role.isBlank()) {
      headers.put(CERT_ROLE, role.trim());
    }
    if (headers.keys().isEmpty()) {
      return null;
    }
    return new CallCredentials() {
      @Override
      public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
        Metadata copy = new Metadata();
        copy.merge(headers);
        applier.apply(copy);
      }
    };
  }

  static void close(ManagedChannel channel) throws InterruptedException {
    channel.shutdown().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? fallback : v;
  }

  private static Path envPath(String name) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? null : Path.of(v);
  }

  /** How results are printed. */
  public enum OutputFormat { text, json }
}
