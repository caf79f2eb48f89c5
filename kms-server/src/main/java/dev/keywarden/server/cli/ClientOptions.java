package dev.keywarden.server.cli;

import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import picocli.CommandLine.Option;

/** Options every client command shares: where the server is, the token, the output format. */
public final class ClientOptions {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  @Option(names = "--addr", description = "Server address host:port (env KEYWARDEN_ADDR; default 127.0.0.1:8400).")
  String addr;

  @Option(names = "--token", description = "Token (env KEYWARDEN_TOKEN).")
  String token;

  @Option(names = "--format", description = "Output: text or json.", defaultValue = "text")
  OutputFormat format;

  @Option(names = "--ca-cert", description = "PEM CA certificate to verify a TLS server with (env KEYWARDEN_CACERT).")
  Path caCert;

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

  /** Opens a channel to the server; the caller closes it. */
  ManagedChannel channel() throws SSLException {
    Path ca = caCertificate();
    // Batch responses can be larger than the request (ciphertext is a third longer than plaintext).
    NettyChannelBuilder builder = NettyChannelBuilder.forTarget(target()).maxInboundMessageSize(64 << 20);
    if (ca != null) {
      try {
        builder.sslContext(GrpcSslContexts.forClient().trustManager(ca.toFile()).build());
      } catch (IllegalArgumentException | SSLException e) {
        throw new SSLException("cannot use the CA certificate " + ca + " (--ca-cert or KEYWARDEN_CACERT): "
            + (e.getCause() != null && e.getCause().getMessage() != null ? e.getCause().getMessage() : e.getMessage()),
            e);
      }
    } else {
      builder.usePlaintext();
    }
    return builder.build();
  }

  /** Bearer-token credentials for the call, or null when no token is set. */
  CallCredentials credentials() {
    String t = token != null ? token : System.getenv("KEYWARDEN_TOKEN");
    if (t == null || t.isBlank()) {
      return null;
    }
    String value = "Bearer " + t.trim();
    return new CallCredentials() {
      @Override
      public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
        Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, value);
        applier.apply(headers);
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
