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
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
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
 * (TARGET encrypt or signcsr:ROLE; MODE closed with N calls in flight, open at N calls/s timed per channel, or
 * open-per-call at N calls/s each sent alone) and reads the one {@code RESULT} line it prints, and the {@code WINDOW}
 * lines printed when the measured window opens and closes. The same calls drive the in-process layout.
 */
public final class LoadClient {
  static final int CHANNELS = GrpcLoadBenchmark.CHANNELS;

  private LoadClient() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 8) {
      System.err.println("usage: LoadClient HOST PORT TOKEN encrypt|signcsr:ROLE closed|open|open-per-call N "
          + "WARMUP_S MEASURE_S");
      System.exit(2);
    }
    try (Lanes lanes = Lanes.open(args[0], Integer.parseInt(args[1]))) {
      LoadDriver.Call call = args[3].equals("encrypt") ? encrypt(lanes, auth(args[2]))
          : signCsr(lanes, auth(args[2]), args[3].substring("signcsr:".length()));
      double n = Double.parseDouble(args[5]);
      Duration warmup = Duration.ofSeconds(Long.parseLong(args[6]));
      Duration measure = Duration.ofSeconds(Long.parseLong(args[7]));
      LoadDriver.Window window = new LoadDriver.Window() {
        @Override
        public void opened() {
          System.out.println("WINDOW opened");
          System.out.flush();
        }

        @Override
        public void closed() {
          System.out.println("WINDOW closed");
          System.out.flush();
        }
      };
      LoadDriver.Result r = drive(call, args[4], n, warmup, measure, window);
      System.out.println(r.line());
    }
    System.exit(0);
  }

  /**
   * MODE closed (N in flight), open (N/s, each lane's transport thread on its own schedule) or open-per-call (N/s,
   * each call sent alone from one thread).
   */
  static LoadDriver.Result drive(LoadDriver.Call call, String mode, double n, Duration warmup, Duration measure,
      LoadDriver.Window window) throws InterruptedException {
    return switch (mode) {
      case "closed" -> LoadDriver.closed(call, (int) n, warmup, measure, window);
      case "open" -> LoadDriver.open(call, n, warmup, measure, LoadDriver.Sending.TIMED, window);
      case "open-per-call" -> LoadDriver.open(call, n, warmup, measure, LoadDriver.Sending.PER_CALL, window);
      default -> throw new IllegalArgumentException("mode " + mode);
    };
  }

  /**
   * {@link #CHANNELS} plaintext Netty channels, each on a transport thread of its own, so a driver can start calls
   * on the thread that writes them. Epoll where Netty's native transport loads, whatever the server's transport: its
   * timers have microsecond resolution where NIO's selector wakes in whole milliseconds, and a timed open loop runs
   * on them. Answers are handled on that thread too (they only count).
   */
  record Lanes(List<ManagedChannel> channels, List<EventLoopGroup> loops) implements AutoCloseable {
    static Lanes open(String host, int port) {
      boolean epoll = Epoll.isAvailable();
      List<ManagedChannel> channels = new ArrayList<>();
      List<EventLoopGroup> loops = new ArrayList<>();
      for (int i = 0; i < CHANNELS; i++) {
        EventLoopGroup loop = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        loops.add(loop);
        channels.add(NettyChannelBuilder.forAddress(host, port).usePlaintext().directExecutor()
            .eventLoopGroup(loop).channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class).build());
      }
      return new Lanes(List.copyOf(channels), List.copyOf(loops));
    }

    @Override
    public void close() throws InterruptedException {
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
        ch.awaitTermination(5, TimeUnit.SECONDS);
      }
      for (EventLoopGroup loop : loops) {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
      }
    }
  }

  /** Calls over the lanes: call i on channel i % lanes. */
  private abstract static class LaneCall<S> implements LoadDriver.Call {
    final List<S> stubs;
    private final Lanes lanes;

    LaneCall(Lanes lanes, java.util.function.Function<ManagedChannel, S> stub) {
      this.lanes = lanes;
      this.stubs = lanes.channels().stream().map(stub).toList();
    }

    @Override
    public int lanes() {
      return stubs.size();
    }

    @Override
    public java.util.concurrent.ScheduledExecutorService lane(int k) {
      return lanes.loops().get(k);
    }

    S stub(long i) {
      return stubs.get((int) (i % stubs.size()));
    }
  }

  static ClientInterceptor auth(String token) {
    Metadata auth = new Metadata();
    auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return MetadataUtils.newAttachHeadersInterceptor(auth);
  }

  /** Unary Encrypt of one 1 KiB item; a success when a ciphertext comes back. */
  static LoadDriver.Call encrypt(Lanes lanes, ClientInterceptor auth) {
    EncryptRequest request = GrpcLoadBenchmark.request(1, 1024);
    return new LaneCall<TransitServiceGrpc.TransitServiceStub>(lanes,
        ch -> TransitServiceGrpc.newStub(ch).withInterceptors(auth)) {
      @Override
      public void start(long i, Consumer<Boolean> done) {
        stub(i).encrypt(request, new Answer<>(done) {
          @Override
          boolean good(EncryptResponse r) {
            return r.getResultsCount() == 1 && r.getResultsList().stream().allMatch(EncryptResult::hasCiphertext);
          }
        });
      }
    };
  }

  /** SignCsr of one P-256 CSR for api.example.com under {@code role}; a success when a certificate comes back. */
  static LoadDriver.Call signCsr(Lanes lanes, ClientInterceptor auth, String role) throws Exception {
    SignCsrRequest request = SignCsrRequest.newBuilder().setRole(role).setCsrPem(csrPem()).build();
    return new LaneCall<PkiServiceGrpc.PkiServiceStub>(lanes,
        ch -> PkiServiceGrpc.newStub(ch).withInterceptors(auth)) {
      @Override
      public void start(long i, Consumer<Boolean> done) {
        stub(i).signCsr(request, new Answer<>(done) {
          @Override
          boolean good(SignCsrResponse r) {
            return !r.getCertificatePem().isEmpty();
          }
        });
      }
    };
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
