package dev.keywarden.bench;

import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResponse;
import dev.keywarden.api.v1.EncryptResult;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.SignCsrRequest;
import dev.keywarden.api.v1.SignCsrResponse;
import dev.keywarden.api.v1.TransitServiceGrpc;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.StringWriter;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The gRPC load generator as a process of its own, as a real caller is: {@link GrpcEdgeBenchmark} starts it with
 * {@code java -cp benchmarks.jar dev.keywarden.bench.LoadClient HOST PORT TOKEN TARGET MODE N WARMUP_S MEASURE_S}
 * (TARGET encrypt or signcsr:ROLE; MODE closed with N calls in flight, or open at N calls/s) and reads the one
 * {@code RESULT} line it prints. The same calls drive the in-process layout.
 */
public final class LoadClient {
  static final int CHANNELS = GrpcLoadBenchmark.CHANNELS;

  private LoadClient() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 8) {
      System.err.println("usage: LoadClient HOST PORT TOKEN encrypt|signcsr:ROLE closed|open N WARMUP_S MEASURE_S");
      System.exit(2);
    }
    List<ManagedChannel> channels = channels(args[0], Integer.parseInt(args[1]));
    try {
      LoadDriver.Call call = args[3].equals("encrypt") ? encrypt(channels, auth(args[2]))
          : signCsr(channels, auth(args[2]), args[3].substring("signcsr:".length()));
      double n = Double.parseDouble(args[5]);
      Duration warmup = Duration.ofSeconds(Long.parseLong(args[6]));
      Duration measure = Duration.ofSeconds(Long.parseLong(args[7]));
      LoadDriver.Result r = args[4].equals("closed") ? LoadDriver.closed(call, (int) n, warmup, measure)
          : LoadDriver.open(call, n, warmup, measure);
      System.out.println(r.line());
    } finally {
      close(channels);
    }
    System.exit(0);
  }

  /** {@link #CHANNELS} plaintext Netty channels; answers are handled on the transport thread (they only count). */
  static List<ManagedChannel> channels(String host, int port) {
    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < CHANNELS; i++) {
      channels.add(NettyChannelBuilder.forAddress(host, port).usePlaintext().directExecutor().build());
    }
    return channels;
  }

  static void close(List<ManagedChannel> channels) throws InterruptedException {
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
      ch.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  static ClientInterceptor auth(String token) {
    Metadata auth = new Metadata();
    auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return MetadataUtils.newAttachHeadersInterceptor(auth);
  }

  /** Unary Encrypt of one 1 KiB item; a success when a ciphertext comes back. */
  static LoadDriver.Call encrypt(List<ManagedChannel> channels, ClientInterceptor auth) {
    EncryptRequest request = GrpcLoadBenchmark.request(1, 1024);
    List<TransitServiceGrpc.TransitServiceStub> stubs = channels.stream()
        .map(ch -> TransitServiceGrpc.newStub(ch).withInterceptors(auth)).toList();
    return (i, done) -> stubs.get((int) (i % stubs.size())).encrypt(request, new Answer<>(done) {
      @Override
      boolean good(EncryptResponse r) {
        return r.getResultsCount() == 1 && r.getResultsList().stream().allMatch(EncryptResult::hasCiphertext);
      }
    });
  }

  /** SignCsr of one P-256 CSR for api.example.com under {@code role}; a success when a certificate comes back. */
  static LoadDriver.Call signCsr(List<ManagedChannel> channels, ClientInterceptor auth, String role)
      throws Exception {
    SignCsrRequest request = SignCsrRequest.newBuilder().setRole(role).setCsrPem(csrPem()).build();
    List<PkiServiceGrpc.PkiServiceStub> stubs = channels.stream()
        .map(ch -> PkiServiceGrpc.newStub(ch).withInterceptors(auth)).toList();
    return (i, done) -> stubs.get((int) (i % stubs.size())).signCsr(request, new Answer<>(done) {
      @Override
      boolean good(SignCsrResponse r) {
        return !r.getCertificatePem().isEmpty();
      }
    });
  }

  static String csrPem() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair key = g.generateKeyPair();
    StringWriter pem = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
      w.writeObject(new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=api.example.com"), key.getPublic())
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
    }
    return pem.toString();
  }

  /** One call's answer, told to the driver once. */
  private abstract static class Answer<T> implements StreamObserver<T> {
    private final Consumer<Boolean> done;
    private boolean success;

    Answer(Consumer<Boolean> done) {
      this.done = done;
    }

    abstract boolean good(T response);

    @Override
    public void onNext(T r) {
      success = good(r);
    }

    @Override
    public void onError(Throwable t) {
      done.accept(false);
    }

    @Override
    public void onCompleted() {
      done.accept(success);
    }
  }
}
