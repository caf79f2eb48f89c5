package dev.keywarden.bench;

import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResponse;
import dev.keywarden.api.v1.EncryptResult;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.grpc.HealthReporter;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Load on the real gRPC server, in this JVM, over plaintext loopback: starts {@link ServerRuntime} on free ports with a
 * throw-away data dir and the software KEK, initializes and unseals it as dev mode does, and drives TransitService
 * Encrypt with an asynchronous grpc-java client (a few Netty channels, a fixed number of calls in flight):
 *
 * <ol>
 *   <li>unary 1 KiB, closed loop: the in-flight count is picked by a short sweep, then the best is measured;
 *   <li>unary 1 KiB, open loop at half that rate (and at the target's 10,000/s when that is higher): latency is taken
 *       from each call's intended send time, so a stalled sender or server cannot hide its queueing (no coordinated
 *       omission);
 *   <li>batched Encrypt of 100 items of 1 KiB and of 64 B, closed loop, items/s.
 * </ol>
 *
 * Then unary SignJwt ({@link JwtGrpcLoad}) and the TLS comparison ({@link TlsAuthComparison}). Every phase runs for a
 * fixed time and stops by itself. Client and server share the machine's cores (and this JVM),
 * as the targets assume. Writes the table as Markdown to the path given as the first argument.
 */
public final class GrpcLoadBenchmark {
  private static final Duration SWEEP = Duration.ofSeconds(2);
  static final Duration WARMUP = Duration.ofSeconds(3);
  /** Seconds per measured row; -Dkeywarden.bench.measure=N for a shorter run (noted in the table). */
  static final Duration MEASURE = Duration.ofSeconds(Long.getLong("keywarden.bench.measure", 10));
  /** -Dkeywarden.bench.only=tls runs only the TLS token-vs-certificate comparison, =jwt only SignJwt. */
  private static final String ONLY = System.getProperty("keywarden.bench.only", "");
  static final int CHANNELS = 4;
  static final String KEY = "bench-aes";
  static final int[] UNARY_IN_FLIGHT = {32, 128, 512};
  private static final int[] BATCH_IN_FLIGHT = {4, 16, 64};
  private static final int BATCH_ITEMS = 100;
  private static final double TARGET_UNARY_CALLS = 20_000;
  private static final double TARGET_P99_MS = 5;
  private static final double TARGET_BATCH_1K_ITEMS = 200_000;
  private static final double TARGET_BATCH_64_ITEMS = 500_000;
  /** Open loop gives up (and says so) when this many calls are outstanding: the server has fallen behind. */
  private static final long MAX_OUTSTANDING = 200_000;

  private final List<TransitServiceGrpc.TransitServiceStub> stubs;

  GrpcLoadBenchmark(List<TransitServiceGrpc.TransitServiceStub> stubs) {
    this.stubs = stubs;
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "benchmarks/results/grpc-load.md");
    Path dir = Files.createTempDirectory("kw-bench-grpc-");
    InetAddress loopback = InetAddress.getLoopbackAddress();
    ServerSettings settings = new ServerSettings(dir.resolve("storage"),
        new HostPort(loopback.getHostAddress(), freePort(loopback)),
        new HostPort(loopback.getHostAddress(), freePort(loopback)),
        null, null, 16, null, null).validate();
    List<ManagedChannel> channels = new ArrayList<>();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, null, false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      server.bean(HealthReporter.class).refresh();

      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + init.rootToken());
      List<TransitServiceGrpc.TransitServiceStub> stubs = new ArrayList<>();
      for (int i = 0; i < CHANNELS; i++) {
        ManagedChannel ch = NettyChannelBuilder.forAddress(loopback.getHostAddress(), server.grpcPort())
            .usePlaintext()
            .directExecutor() // callbacks only count and re-issue; no need to hop threads
            .build();
        channels.add(ch);
        stubs.add(TransitServiceGrpc.newStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth)));
      }
      TransitServiceGrpc.newBlockingStub(channels.get(0))
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth))
          .createKey(CreateKeyRequest.newBuilder().setName(KEY).setType("aes256-gcm96").build());

      String report = ONLY.isEmpty() ? new GrpcLoadBenchmark(stubs).run() : "";
      if (ONLY.isEmpty() || ONLY.equals("jwt")) {
        // The same run's unary Encrypt, as the yardstick of what the gate and gRPC allow on this machine right now.
        GrpcLoadBenchmark transit = new GrpcLoadBenchmark(stubs);
        System.out.println("unary 1 KiB Encrypt at 128 in flight (the yardstick for SignJwt)...");
        Closed encrypt = transit.closedLoop(request(1, 1024), 128, WARMUP, MEASURE, List.of());
        report += JwtGrpcLoad.run(channels, MetadataUtils.newAttachHeadersInterceptor(auth),
            encrypt.callsPerSecond());
      }
      if (ONLY.isEmpty() || ONLY.equals("tls")) {
        report += TlsAuthComparison.run(server, dir.resolve("tls"));
      }
      System.out.println(report);
      Files.createDirectories(out.toAbsolutePath().getParent());
      Files.writeString(out, report);
      System.out.println("written to " + out);
    } finally {
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
        ch.awaitTermination(5, TimeUnit.SECONDS);
      }
      deleteTree(dir);
    }
    System.exit(0); // Micronaut and Netty leave non-daemon threads behind
  }

  private String run() throws InterruptedException {
    EncryptRequest unary = request(1, 1024);
    EncryptRequest batch1k = request(BATCH_ITEMS, 1024);
    EncryptRequest batch64 = request(BATCH_ITEMS, 64);

    // The sweep picks the in-flight count, so it must not run on a cold JIT.
    System.out.println("warming up the JIT (unary and batched)...");
    closedLoop(unary, 128, Duration.ZERO, Duration.ofSeconds(5), List.of());
    closedLoop(batch64, 16, Duration.ZERO, Duration.ofSeconds(3), List.of());
    System.out.println("unary 1 KiB, closed loop...");
    Closed unaryMax = best(unary, UNARY_IN_FLIGHT);
    List<Open> paced = new ArrayList<>();
    double half = Math.floor(unaryMax.callsPerSecond() / 2 / 100) * 100;
    // Always at the target's own load (half of 20,000/s), and at half of what this machine reached when that differs.
    for (double rate : half == TARGET_UNARY_CALLS / 2 ? new double[] {half}
        : new double[] {TARGET_UNARY_CALLS / 2, half}) {
      System.out.printf(Locale.ROOT, "unary 1 KiB, open loop at %.0f/s...%n", rate);
      paced.add(openLoop(unary, rate));
    }
    System.out.println("batched 100 x 1 KiB...");
    Closed b1k = best(batch1k, BATCH_IN_FLIGHT);
    System.out.println("batched 100 x 64 B...");
    Closed b64 = best(batch64, BATCH_IN_FLIGHT);
    return markdown(unaryMax, paced, b1k, b64);
  }

  static EncryptRequest request(int items, int size) {
    SecureRandom random = new SecureRandom();
    EncryptRequest.Builder b = EncryptRequest.newBuilder().setName(KEY);
    for (int i = 0; i < items; i++) {
      byte[] plaintext = new byte[size];
      random.nextBytes(plaintext);
      b.addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFrom(plaintext)));
    }
    return b.build();
  }

  // ---- closed loop ---------------------------------------------------------------------------------------------------

  /** A closed-loop result: {@code sweep} holds the short runs that chose {@code inFlight}. */
  record Closed(int items, int inFlight, long calls, long errors, double seconds, List<Closed> sweep) {
    double callsPerSecond() {
      return calls / seconds;
    }

    double itemsPerSecond() {
      return calls * (double) items / seconds;
    }
  }

  /** Short runs at each in-flight count, then warm-up and the measured run at the best one. */
  private Closed best(EncryptRequest request, int[] inFlights) throws InterruptedException {
    List<Closed> sweep = new ArrayList<>();
    for (int inFlight : inFlights) {
      Closed c = closedLoop(request, inFlight, Duration.ofSeconds(1), SWEEP, List.of());
      System.out.printf(Locale.ROOT, "  %4d in flight: %,.0f calls/s%n", inFlight, c.callsPerSecond());
      sweep.add(c);
    }
    Closed top = sweep.stream().max(Comparator.comparingDouble(Closed::callsPerSecond)).orElseThrow();
    Closed measured = closedLoop(request, top.inFlight(), WARMUP, MEASURE, sweep);
    System.out.printf(Locale.ROOT, "  measured at %d in flight: %,.0f calls/s, %,.0f items/s, %d errors%n",
        measured.inFlight(), measured.callsPerSecond(), measured.itemsPerSecond(), measured.errors());
    return measured;
  }

  /** {@code inFlight} chains of calls, each issuing its next call when the last one answers. */
  Closed closedLoop(EncryptRequest request, int inFlight, Duration warmup, Duration measure, List<Closed> sweep)
      throws InterruptedException {
    int items = request.getItemsCount();
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long stopAt = System.nanoTime() + warmup.toNanos() + measure.toNanos();
    CountDownLatch done = new CountDownLatch(inFlight);
    for (int i = 0; i < inFlight; i++) {
      TransitServiceGrpc.TransitServiceStub stub = stubs.get(i % stubs.size());
      new Runnable() {
        @Override
        public void run() {
          stub.encrypt(request, new Answer(items) {
            @Override
            void completed(boolean success) {
              (success ? ok : errors).incrementAndGet();
              if (System.nanoTime() < stopAt) {
                run();
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
    return new Closed(items, inFlight, calls, failed, seconds, sweep);
  }

  // ---- open loop -----------------------------------------------------------------------------------------------------

  /** An open-loop result; latencies in nanoseconds from each call's intended send time. */
  record Open(double rate, long calls, long errors, double seconds, Histogram latency, boolean overloaded) {}

  /** Sends at a fixed rate whatever the answers do, recording each call's latency from when it should have been sent. */
  Open openLoop(EncryptRequest request, double rate) throws InterruptedException {
    int items = request.getItemsCount();
    Histogram latency = new ConcurrentHistogram(TimeUnit.MINUTES.toNanos(1), 3);
    AtomicLong outstanding = new AtomicLong();
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    double period = 1e9 / rate;
    long begin = System.nanoTime();
    long measureFrom = begin + WARMUP.toNanos();
    long end = measureFrom + MEASURE.toNanos();
    boolean overloaded = false;
    for (long i = 0; ; i++) {
      long intended = begin + (long) (i * period);
      if (intended >= end) {
        break;
      }
      long wait = intended - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      if (outstanding.incrementAndGet() > MAX_OUTSTANDING) {
        overloaded = true;
        break;
      }
      boolean counted = intended >= measureFrom;
      stubs.get((int) (i % stubs.size())).encrypt(request, new Answer(items) {
        @Override
        void completed(boolean success) {
          long now = System.nanoTime();
          outstanding.decrementAndGet();
          if (counted) {
            (success ? ok : errors).incrementAndGet();
            latency.recordValue(Math.min(now - intended, latency.getHighestTrackableValue()));
          }
        }
      });
    }
    long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (outstanding.get() > (overloaded ? 1 : 0) && System.nanoTime() < drainUntil) {
      Thread.sleep(5);
    }
    return new Open(rate, ok.get(), errors.get(), MEASURE.toNanos() / 1e9, latency, overloaded);
  }

  /** One Encrypt call's answer: a success only when every item came back as a ciphertext. */
  private abstract static class Answer implements StreamObserver<EncryptResponse> {
    private final int items;
    private boolean success;

    Answer(int items) {
      this.items = items;
    }

    abstract void completed(boolean success);

    @Override
    public void onNext(EncryptResponse r) {
      success = r.getResultsCount() == items
          && r.getResultsList().stream().allMatch(EncryptResult::hasCiphertext);
    }

    @Override
    public void onError(Throwable t) {
      completed(false);
    }

    @Override
    public void onCompleted() {
      completed(success);
    }
  }

  // ---- report --------------------------------------------------------------------------------------------------------

  private static String markdown(Closed unary, List<Open> paced, Closed b1k, Closed b64) {
    StringBuilder s = new StringBuilder();
    s.append("# gRPC load: TransitService.Encrypt\n\n");
    s.append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
    s.append("- JDK: ").append(System.getProperty("java.vm.name")).append(' ')
        .append(System.getProperty("java.runtime.version")).append("; JVM options: ")
        .append(String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()))
        .append(" (bin/keywarden starts the server with the same GC settings)\n");
    s.append("- OS: ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.arch"))
        .append("; CPU: ").append(cpuModel()).append("; cores available: ")
        .append(Runtime.getRuntime().availableProcessors()).append('\n');
    s.append("- Setup: server (`ServerRuntime`, software KEK, SQLite) and grpc-java async client (")
        .append(CHANNELS).append(" Netty channels, plaintext 127.0.0.1) in one JVM on the same cores; key ")
        .append("aes256-gcm96; root token; ").append(WARMUP.toSeconds()).append(" s warm-up, ")
        .append(MEASURE.toSeconds()).append(" s measured per row (after 8 s of JIT warm-up for the whole run); ")
        .append("closed-loop in-flight count chosen by a ").append(SWEEP.toSeconds()).append(" s sweep.\n");
    s.append("- Open-loop latency is measured from each call's intended send time (no coordinated omission).\n\n");

    s.append("| Scenario | Measured | Target | Met |\n|---|---:|---|:---:|\n");
    s.append(row(String.format(Locale.ROOT, "Unary 1 KiB, closed loop, %d in flight", unary.inFlight()),
        fmt(unary.callsPerSecond()) + " calls/s" + errors(unary.errors()),
        "≥ 20,000 calls/s", unary.callsPerSecond() >= TARGET_UNARY_CALLS && unary.errors() == 0));
    for (Open o : paced) {
      boolean atTargetLoad = o.rate() >= TARGET_UNARY_CALLS / 2;
      double p99 = ms(o.latency().getValueAtPercentile(99));
      s.append(row(String.format(Locale.ROOT, "Unary 1 KiB, open loop at %s calls/s (achieved %s/s)%s",
              fmt(o.rate()), fmt(o.calls() / o.seconds()), o.overloaded() ? ", OVERLOADED: gave up" : ""),
          String.format(Locale.ROOT, "p50 %.2f / p99 %.2f / p99.9 %.2f / max %.2f ms%s",
              ms(o.latency().getValueAtPercentile(50)), p99, ms(o.latency().getValueAtPercentile(99.9)),
              ms(o.latency().getMaxValue()), errors(o.errors())),
          "p99 < 5 ms at 10,000 calls/s",
          atTargetLoad ? mark(p99 < TARGET_P99_MS && o.errors() == 0 && !o.overloaded())
              : "n/a (below the target's load)"));
    }
    s.append(row(String.format(Locale.ROOT, "Batched 100 × 1 KiB, closed loop, %d in flight", b1k.inFlight()),
        fmt(b1k.itemsPerSecond()) + " items/s (" + fmt(b1k.callsPerSecond()) + " calls/s)" + errors(b1k.errors()),
        "≥ 200,000 items/s", b1k.itemsPerSecond() >= TARGET_BATCH_1K_ITEMS && b1k.errors() == 0));
    s.append(row(String.format(Locale.ROOT, "Batched 100 × 64 B, closed loop, %d in flight", b64.inFlight()),
        fmt(b64.itemsPerSecond()) + " items/s (" + fmt(b64.callsPerSecond()) + " calls/s)" + errors(b64.errors()),
        "≥ 500,000 items/s", b64.itemsPerSecond() >= TARGET_BATCH_64_ITEMS && b64.errors() == 0));

    s.append("\nIn-flight sweep (").append(SWEEP.toSeconds()).append(" s each, after 1 s warm-up):\n\n");
    s.append("| Scenario | In flight | calls/s | items/s |\n|---|---:|---:|---:|\n");
    sweep(s, "Unary 1 KiB", unary);
    sweep(s, "Batched 100 × 1 KiB", b1k);
    sweep(s, "Batched 100 × 64 B", b64);
    s.append("\nFor comparison, Vault's published transit benchmark shows about 1,800 encrypts/s.\n");
    return s.toString();
  }

  private static void sweep(StringBuilder s, String name, Closed measured) {
    for (Closed c : measured.sweep()) {
      s.append("| ").append(name).append(" | ").append(c.inFlight()).append(" | ").append(fmt(c.callsPerSecond()))
          .append(" | ").append(fmt(c.itemsPerSecond())).append(" |\n");
    }
  }

  private static String row(String scenario, String measured, String target, boolean met) {
    return row(scenario, measured, target, mark(met));
  }

  private static String row(String scenario, String measured, String target, String met) {
    return "| " + scenario + " | " + measured + " | " + target + " | " + met + " |\n";
  }

  private static String mark(boolean met) {
    return met ? "yes" : "**no**";
  }

  private static String errors(long n) {
    return n == 0 ? "" : ", " + n + " ERRORS";
  }

  static String fmt(double v) {
    return String.format(Locale.ROOT, "%,.0f", v);
  }

  static double ms(long nanos) {
    return nanos / 1e6;
  }

  static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).findFirst()
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  static int freePort(InetAddress address) throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, address)) {
      return s.getLocalPort();
    }
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
