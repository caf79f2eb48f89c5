package dev.keywarden.client;

import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.TransitServiceGrpc;
import io.grpc.CallCredentials;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.stub.AbstractStub;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A client of one Keywarden server: typed calls per engine ({@link #transit()}, {@link #pki()}), one deadline per
 * call, retries of idempotent calls on UNAVAILABLE, and every failure as a {@link KeywardenClientException}.
 *
 * <pre>{@code
 * try (KeywardenClient kw = KeywardenClient.builder().address("kms.internal:8400")
 *     .tls(Path.of("ca.pem")).token(System.getenv("KEYWARDEN_TOKEN")).build()) {
 *   String ct = kw.transit().encrypt("orders", plaintext, context);
 * }
 * }</pre>
 *
 * <p>Thread-safe; one instance per server is meant to be shared. It runs on grpc-java's OkHttp transport with the
 * JDK's TLS. It never logs, and keeps no plaintext: what a call returns belongs to the caller.
 */
public final class KeywardenClient implements AutoCloseable {
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> CERT_ROLE = Metadata.Key.of("keywarden-cert-role", Metadata.ASCII_STRING_MARSHALLER);

  private final String address;
  private final ManagedChannel channel;
  private final Duration deadline;
  private final int maxRetries;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final String description;
  private final TransitClient transit;
  private final PkiClient pki;

  private KeywardenClient(Builder b, ManagedChannel channel) {
    this.address = b.address;
    this.channel = channel;
    this.deadline = b.deadline;
    this.maxRetries = b.maxRetries;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.description = "KeywardenClient[" + b.address + ", " + (b.plaintext ? "plaintext" : "tls")
        + (b.token != null ? ", token" : "") + (b.clientChain != null ? ", client certificate" : "") + "]";
    CallCredentials credentials = credentials(b.token, b.certRole);
    TransitServiceGrpc.TransitServiceBlockingStub transitStub = TransitServiceGrpc.newBlockingStub(channel);
    PkiServiceGrpc.PkiServiceBlockingStub pkiStub = PkiServiceGrpc.newBlockingStub(channel);
    if (credentials != null) {
      transitStub = transitStub.withCallCredentials(credentials);
      pkiStub = pkiStub.withCallCredentials(credentials);
    }
    this.transit = new TransitClient(this, transitStub);
    this.pki = new PkiClient(this, pkiStub);
  }

  /** A builder; {@link Builder#address} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** Transit: named, versioned keys for encryption. */
  public TransitClient transit() {
    return transit;
  }

  /** PKI: certificates from the server's CA. */
  public PkiClient pki() {
    return pki;
  }

  /** The server's HOST:PORT as given to the builder. */
  public String address() {
    return address;
  }

  /** Stops new calls and waits up to 5 s for running ones. */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** The address and how it authenticates; never the token. */
  @Override
  public String toString() {
    return description;
  }

  /**
   * Runs one call under the client's deadline (one deadline for all attempts). An idempotent call failing UNAVAILABLE
   * is tried again up to maxRetries times with exponential backoff and jitter, while the deadline leaves room.
   */
  <S extends AbstractStub<S>, R> R call(S stub, boolean idempotent, Function<S, R> call) {
    Deadline end = Deadline.after(deadline.toNanos(), TimeUnit.NANOSECONDS);
    long backoffNanos = initialBackoff.toNanos();
    for (int attempt = 0; ; attempt++) {
      try {
        return call.apply(stub.withDeadline(end));
      } catch (StatusRuntimeException e) {
        if (!idempotent || e.getStatus().getCode() != Status.Code.UNAVAILABLE || attempt >= maxRetries) {
          throw KeywardenClientException.from(e);
        }
        long sleep = backoffNanos / 2 + ThreadLocalRandom.current().nextLong(backoffNanos / 2 + 1);
        if (end.timeRemaining(TimeUnit.NANOSECONDS) <= sleep) {
          throw KeywardenClientException.from(e);
        }
        try {
          TimeUnit.NANOSECONDS.sleep(sleep);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw KeywardenClientException.from(e);
        }
        backoffNanos = Math.min(backoffNanos * 2, maxBackoff.toNanos());
      }
    }
  }

  private static CallCredentials credentials(String token, String certRole) {
    Metadata headers = new Metadata();
    if (token != null) {
      headers.put(AUTHORIZATION, "Bearer " + token);
    }
    if (certRole != null) {
      headers.put(CERT_ROLE, certRole);
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

      @Override
      public String toString() {
        return "KeywardenCallCredentials";
      }
    };
  }

  /** Builds a {@link KeywardenClient}. TLS with the JDK's default trust store unless told otherwise. */
  public static final class Builder {
    private String address;
    private String token;
    private String certRole;
    private boolean plaintext;
    private List<X509Certificate> trusted;
    private Path trustedFile;
    private Path clientCertFile;
    private Path clientKeyFile;
    private X509Certificate[] clientChain;
    private PrivateKey clientKey;
    private Duration deadline = Duration.ofSeconds(30);
    private int maxRetries = 3;
    private Duration initialBackoff = Duration.ofMillis(100);
    private Duration maxBackoff = Duration.ofSeconds(2);
    private int maxInboundMessageSize = 64 << 20;

    private Builder() {}

    /** The server's HOST:PORT (e.g. "kms.internal:8400", "127.0.0.1:8400", "[::1]:8400"). */
    public Builder address(String hostPort) {
      Objects.requireNonNull(hostPort, "address");
      if (hostPort.isBlank() || hostPort.indexOf(':') < 0 || hostPort.contains("/")) {
        throw new IllegalArgumentException("the address is HOST:PORT, e.g. kms.internal:8400");
      }
      this.address = hostPort.trim();
      return this;
    }

    /** A Keywarden token ({@code kwt_…}), sent as {@code authorization: Bearer …} on every call. */
    public Builder token(String token) {
      Objects.requireNonNull(token, "token");
      String t = token.trim();
      if (t.isEmpty() || !t.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        throw new IllegalArgumentException("the token is empty or has characters a token never has");
      }
      this.token = t;
      return this;
    }

    /** The cert role a client certificate is checked against when it matches several (header keywarden-cert-role). */
    public Builder certRole(String role) {
      this.certRole = Objects.requireNonNull(role, "role").trim();
      return this;
    }

    /** TLS trusting the CA certificate(s) in a PEM file (read by {@link #build}). */
    public Builder tls(Path caPem) {
      this.trustedFile = Objects.requireNonNull(caPem, "caPem");
      this.trusted = null;
      this.plaintext = false;
      return this;
    }

    /** TLS trusting these CA certificates. */
    public Builder tls(X509Certificate... trustedCertificates) {
      if (trustedCertificates.length == 0) {
        throw new IllegalArgumentException("give at least one trusted certificate");
      }
      this.trusted = List.of(trustedCertificates);
      this.trustedFile = null;
      this.plaintext = false;
      return this;
    }

    /**
     * Presents a client certificate over TLS (mTLS): a cert role that accepts it authenticates the calls, without a
     * token (a token, when also set, wins on the server). The certificate PEM may hold the chain after the leaf; the
     * key is unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"). Both are read by {@link #build}.
     */
    public Builder clientCertificate(Path certPem, Path keyPem) {
      this.clientCertFile = Objects.requireNonNull(certPem, "certPem");
      this.clientKeyFile = Objects.requireNonNull(keyPem, "keyPem");
      this.clientChain = null;
      this.clientKey = null;
      return this;
    }

    /** Presents this client certificate chain (leaf first) with its key over TLS. */
    public Builder clientCertificate(PrivateKey key, X509Certificate... chain) {
      if (chain.length == 0) {
        throw new IllegalArgumentException("give the client certificate (and its chain)");
      }
      this.clientKey = Objects.requireNonNull(key, "key");
      this.clientChain = chain.clone();
      this.clientCertFile = null;
      this.clientKeyFile = null;
      return this;
    }

    /** No TLS: for a dev server on loopback only (the server refuses plaintext elsewhere). */
    public Builder plaintext() {
      this.plaintext = true;
      return this;
    }

    /** The time one call may take, retries included (default 30 s). */
    public Builder deadline(Duration deadline) {
      if (deadline.isZero() || deadline.isNegative()) {
        throw new IllegalArgumentException("the deadline must be positive");
      }
      this.deadline = deadline;
      return this;
    }

    /**
     * How often an idempotent call failing UNAVAILABLE is tried again (default 3; 0 for never). Retried: Encrypt
     * (another attempt only makes another ciphertext), Decrypt, Rewrap and GetKey. Never retried: CreateKey,
     * RotateKey (a retry would add a second version) and SignCsr (a second certificate).
     */
    public Builder maxRetries(int maxRetries) {
      if (maxRetries < 0) {
        throw new IllegalArgumentException("maxRetries must be 0 or more");
      }
      this.maxRetries = maxRetries;
      return this;
    }

    /** The first wait before a retry, doubled each time up to {@code max} (defaults 100 ms and 2 s), with jitter. */
    public Builder retryBackoff(Duration initial, Duration max) {
      if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("the backoff must be positive and max at least initial");
      }
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    /** The largest response accepted (default 64 MiB: a batch's ciphertexts are a third longer than its input). */
    public Builder maxInboundMessageSize(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxInboundMessageSize must be positive");
      }
      this.maxInboundMessageSize = bytes;
      return this;
    }

    /** Opens the channel (connections are made lazily, on the first call). */
    public KeywardenClient build() {
      if (address == null) {
        throw new IllegalStateException("address(HOST:PORT) is required");
      }
      boolean identity = clientChain != null || clientCertFile != null;
      if (plaintext && (identity || trusted != null || trustedFile != null)) {
        throw new IllegalStateException("plaintext() cannot be combined with tls(…) or clientCertificate(…)");
      }
      OkHttpChannelBuilder channel = OkHttpChannelBuilder.forTarget(address)
          .maxInboundMessageSize(maxInboundMessageSize);
      if (plaintext) {
        channel.usePlaintext();
      } else {
        try {
          List<X509Certificate> trust = trustedFile != null ? TlsFiles.certificates(trustedFile) : trusted;
          if (clientCertFile != null) {
            clientChain = TlsFiles.certificates(clientCertFile).toArray(X509Certificate[]::new);
            clientKey = TlsFiles.privateKey(clientKeyFile);
          }
          channel.sslSocketFactory(TlsFiles.socketFactory(trust, clientChain, clientKey));
        } catch (IOException | GeneralSecurityException e) {
          throw new IllegalArgumentException("cannot set up TLS: " + e.getMessage(), e);
        }
      }
      return new KeywardenClient(this, channel.build());
    }
  }
}
