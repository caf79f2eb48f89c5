package dev.keywarden.bench;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.CreateJwtKeyRequest;
import dev.keywarden.api.v1.JwtAlgorithm;
import dev.keywarden.api.v1.JwtKeyConfig;
import dev.keywarden.api.v1.JwtServiceGrpc;
import dev.keywarden.api.v1.JwtSigningRole;
import dev.keywarden.api.v1.SignJwtItem;
import dev.keywarden.api.v1.SignJwtRequest;
import dev.keywarden.api.v1.SignJwtResponse;
import dev.keywarden.api.v1.WriteJwtSigningRoleRequest;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Unary SignJwt on the real gRPC server of {@link GrpcLoadBenchmark} (same process, loopback, every call through the
 * request gate): one token per call, closed loop, software keys (Bouncy Castle; the in-process server has no PKCS#11
 * module) for EdDSA and ES256. Target: ≥ 15,000 calls/s. {@code -Dkeywarden.bench.only=jwt} runs only this part.
 */
final class JwtGrpcLoad {
  private static final double TARGET_CALLS = 15_000;
  private static final int[] IN_FLIGHT = {32, 128, 512};

  private record Result(String alg, int inFlight, long calls, long errors, double seconds, List<String> sweep) {
    double callsPerSecond() {
      return calls / seconds;
    }
  }

  private JwtGrpcLoad() {}

  /** Creates the keys and roles over {@code channels}' stubs, runs the scenarios, returns the Markdown section. */
  static String run(List<ManagedChannel> channels, io.grpc.ClientInterceptor auth, double encryptCalls)
      throws InterruptedException {
    List<JwtServiceGrpc.JwtServiceStub> stubs = new ArrayList<>();
    channels.forEach(ch -> stubs.add(JwtServiceGrpc.newStub(ch).withInterceptors(auth)));
    JwtServiceGrpc.JwtServiceBlockingStub admin = JwtServiceGrpc.newBlockingStub(channels.get(0))
        .withInterceptors(auth);
    List<Result> results = new ArrayList<>();
    for (JwtAlgorithm alg : List.of(JwtAlgorithm.JWT_ALGORITHM_EDDSA, JwtAlgorithm.JWT_ALGORITHM_ES256)) {
      String name = "bench-" + alg.name().replace("JWT_ALGORITHM_", "").toLowerCase(Locale.ROOT);
      admin.createJwtKey(CreateJwtKeyRequest.newBuilder().setConfig(JwtKeyConfig.newBuilder().setName(name)
          .setAlgorithm(alg).setSoftware(true).setIssuer("https://kms.example/v1/jwt/" + name)
          .setPublishAhead(Durations.fromSeconds(0))).build());
      admin.writeJwtSigningRole(WriteJwtSigningRoleRequest.newBuilder().setRole(JwtSigningRole.newBuilder()
          .setName(name).setKey(name).addAllowedAudiences("payments")).build());
      SignJwtRequest request = SignJwtRequest.newBuilder().setKey(name).setRole(name)
          .addItems(SignJwtItem.newBuilder().setClaims(Struct.newBuilder().putFields("aud",
              Value.newBuilder().setStringValue("payments").build()))).build();
      System.out.println("SignJwt " + name + ", closed loop...");
      closedLoop(stubs, request, 128, Duration.ofSeconds(5), Duration.ZERO); // JIT warm-up
      List<String> sweep = new ArrayList<>();
      Result top = null;
      for (int inFlight : IN_FLIGHT) {
        Result r = closedLoop(stubs, request, inFlight, Duration.ofSeconds(1), Duration.ofSeconds(2));
        System.out.printf(Locale.ROOT, "  %4d in flight: %,.0f calls/s%n", inFlight, r.callsPerSecond());
        sweep.add(String.format(Locale.ROOT, "%d: %,.0f", inFlight, r.callsPerSecond()));
        top = top == null || r.callsPerSecond() > top.callsPerSecond() ? r : top;
      }
      Result measured = closedLoop(stubs, request, top.inFlight(), GrpcLoadBenchmark.WARMUP,
          GrpcLoadBenchmark.MEASURE);
      System.out.printf(Locale.ROOT, "  measured at %d in flight: %,.0f calls/s, %d errors%n", measured.inFlight(),
          measured.callsPerSecond(), measured.errors());
      results.add(new Result(alg.name().replace("JWT_ALGORITHM_", ""), measured.inFlight(), measured.calls(),
          measured.errors(), measured.seconds(), sweep));
    }
    return markdown(results, encryptCalls);
  }

  private static Result closedLoop(List<JwtServiceGrpc.JwtServiceStub> stubs, SignJwtRequest request, int inFlight,
      Duration warmup, Duration measure) throws InterruptedException {
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long stopAt = System.nanoTime() + warmup.toNanos() + measure.toNanos();
    CountDownLatch done = new CountDownLatch(inFlight);
    for (int i = 0; i < inFlight; i++) {
      JwtServiceGrpc.JwtServiceStub stub = stubs.get(i % stubs.size());
      new Runnable() {
        @Override
        public void run() {
          Runnable self = this;
          stub.signJwt(request, new StreamObserver<>() {
            private boolean signed;

            @Override
            public void onNext(SignJwtResponse r) {
              signed = r.getResultsCount() == 1 && r.getResults(0).hasJwt();
            }

            @Override
            public void onError(Throwable t) {
              errors.incrementAndGet();
              next();
            }

            @Override
            public void onCompleted() {
              (signed ? ok : errors).incrementAndGet();
              next();
            }

            private void next() {
              if (System.nanoTime() < stopAt) {
                self.run();
              } else {
                done.countDown();
              }
            }
          });
        }
      }.run();
    }
    Thread.sleep(warmup.toMillis());
    long startCalls = ok.get();
    long startErrors = errors.get();
    long start = System.nanoTime();
    Thread.sleep(measure.toMillis());
    long calls = ok.get() - startCalls;
    long failed = errors.get() - startErrors;
    double seconds = (System.nanoTime() - start) / 1e9;
    if (!done.await(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("calls still outstanding 30 s after the closed loop stopped");
    }
    return new Result("", inFlight, calls, failed, Math.max(seconds, 1e-9), List.of());
  }

  private static String markdown(List<Result> results, double encryptCalls) {
    StringBuilder s = new StringBuilder("\n## JWT signing: unary SignJwt over gRPC\n\n");
    s.append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
    s.append("- One token per call ({\"aud\":\"payments\"} under a role; iss, iat, exp, jti and sub set by the server),")
        .append(" software key (Bouncy Castle), root token, closed loop; measured ")
        .append(GrpcLoadBenchmark.MEASURE.toSeconds()).append(" s after ").append(GrpcLoadBenchmark.WARMUP
            .toSeconds()).append(" s of warm-up at the best in-flight count of a short sweep.\n\n");
    s.append(String.format(Locale.ROOT, "- Yardstick in the same run: unary 1 KiB Encrypt (AES-GCM, no signature),"
        + " 128 in flight: %,.0f calls/s.%n%n", encryptCalls));
    s.append("| Scenario | Measured | vs unary Encrypt | Target | Met |\n|---|---:|---:|---|:---:|\n");
    for (Result r : results) {
      s.append(String.format(Locale.ROOT, "| SignJwt %s, unary, %d in flight (sweep %s) | %,.0f calls/s%s | %.2f× |"
          + " ≥ %,.0f calls/s | %s |%n", r.alg(), r.inFlight(), String.join(", ", r.sweep()), r.callsPerSecond(),
          r.errors() == 0 ? "" : " (" + r.errors() + " errors)", r.callsPerSecond() / encryptCalls, TARGET_CALLS,
          r.callsPerSecond() >= TARGET_CALLS && r.errors() == 0 ? "yes" : "**no**"));
    }
    return s.toString();
  }
}
