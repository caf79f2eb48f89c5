package dev.keywarden.bench;

import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResponse;
import dev.keywarden.api.v1.GenerateRootRequest;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.api.v1.WriteRoleRequest;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.gate.InlineCalls;
import dev.keywarden.server.grpc.HealthReporter;
import dev.keywarden.server.wiring.GrpcExecutor;
import dev.keywarden.server.wiring.GrpcTransport;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import io.grpc.ClientInterceptor;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.micronaut.inject.qualifiers.Qualifiers;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The service against the framework's own limit (issue #15): unary Encrypt 1 KiB beside a bare grpc-java echo service
 * that answers the same request with a response of the same size (a real Encrypt response, captured once), on the
 * executor Keywarden gives Encrypt, driven by the same client in the same run; and stored SignCsr with 64 calls in flight (the
 * group commit's case). Every phase runs twice: the client in this JVM, and the client in a JVM of its own
 * ({@link LoadClient}), as a real caller is. The Keywarden server uses SoftHSM2 (SOFTHSM2_CONF must be set; make bench
 * sets it) and SQLite. Writes Markdown to the path given as the first argument.
 */
public final class GrpcEdgeBenchmark {
  private static final Duration WARMUP = Duration.ofSeconds(Long.getLong("keywarden.bench.warmup", 3));
  private static final Duration MEASURE = GrpcLoadBenchmark.MEASURE;
  private static final int IN_FLIGHT = 128;
  private static final int PKI_IN_FLIGHT = 64;
  private static final double TARGET_ECHO_RATIO = 0.8;
  private static final double TARGET_P99_MS = 5;
  private static final double TARGET_STORED_CERTS = 5_000;
  private static final Path LIBRARY = Path.of("/usr/lib/softhsm/libsofthsm2.so");
  /** -Dkeywarden.bench.grpc-threads=N: both servers' calls on a fixed pool of N (0: the server's default). */
  private static final int GRPC_THREADS = Integer.getInteger("keywarden.bench.grpc-threads", 0);
  /** -Dkeywarden.bench.only=pki runs only stored SignCsr, =echo only the echo comparison. */
  private static final String ONLY = System.getProperty("keywarden.bench.only", "");
  /** -Dkeywarden.bench.pki-no-store=true also measures SignCsr under a no_store role, beside the stored row. */
  private static final boolean PKI_NO_STORE = Boolean.getBoolean("keywarden.bench.pki-no-store");
  /** -Dkeywarden.bench.layout=separate runs only the client in its own JVM, =same only the client in this one. */
  private static final String LAYOUT = System.getProperty("keywarden.bench.layout", "");
  /** -Dkeywarden.bench.echo-variants=false leaves out the echo on the other executor and on the other transport. */
  private static final boolean VARIANTS =
      Boolean.parseBoolean(System.getProperty("keywarden.bench.echo-variants", "true"));

  private final String host;
  private final String token;
  private final int keywardenPort;
  private final int echoPort;
  private final List<EchoServer> echoes;

  private GrpcEdgeBenchmark(String host, String token, int keywardenPort, List<EchoServer> echoes) {
    this.host = host;
    this.token = token;
    this.keywardenPort = keywardenPort;
    this.echoPort = echoes.get(0).server().getPort();
    this.echoes = echoes;
  }

  /**
   * A bare grpc-java server answering every Encrypt with a captured response, on epoll or NIO, on a fixed pool of
   * {@code threads}, (0) a cached pool or (-1) the event loop that read the call.
   */
  record EchoServer(String name, Server server, ExecutorService executor, List<io.netty.channel.EventLoopGroup> loops) {
    static EchoServer start(String host, EncryptResponse canned, String name, boolean epoll, int threads)
        throws java.io.IOException {
      ExecutorService executor = threads > 0 ? Executors.newFixedThreadPool(threads)
          : threads == 0 ? Executors.newCachedThreadPool() : null;
      NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(host, 0));
      List<io.netty.channel.EventLoopGroup> loops = List.of();
      if (epoll) {
        io.netty.channel.EventLoopGroup boss = new io.netty.channel.epoll.EpollEventLoopGroup(1);
        io.netty.channel.EventLoopGroup workers = new io.netty.channel.epoll.EpollEventLoopGroup(0);
        loops = List.of(boss, workers);
        b.channelType(io.netty.channel.epoll.EpollServerSocketChannel.class).bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers);
      } else {
        io.netty.channel.EventLoopGroup boss = new io.netty.channel.nio.NioEventLoopGroup(1);
        io.netty.channel.EventLoopGroup workers = new io.netty.channel.nio.NioEventLoopGroup(0);
        loops = List.of(boss, workers);
        b.channelType(io.netty.channel.socket.nio.NioServerSocketChannel.class).bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers);
      }
      Server server = (executor == null ? b.directExecutor() : b.executor(executor))
          .maxInboundMessageSize(dev.keywarden.server.gate.InboundMessages.MAX_MESSAGE_BYTES)
          .addService(new TransitServiceGrpc.TransitServiceImplBase() {
            @Override
            public void encrypt(EncryptRequest request, StreamObserver<EncryptResponse> answer) {
              answer.onNext(canned);
              answer.onCompleted();
            }
          })
          .build().start();
      return new EchoServer(name, server, executor, loops);
    }

    void close() {
      server.shutdownNow();
      if (executor != null) {
        executor.shutdownNow();
      }
      loops.forEach(io.netty.channel.EventLoopGroup::shutdownGracefully);
    }
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "benchmarks/results/grpc-edges.md");
    Path dir = Files.createTempDirectory("kw-bench-edges-");
    InetAddress loopback = InetAddress.getLoopbackAddress();
    String host = loopback.getHostAddress();
    String label = "bench-" + HexFormat.of().formatHex(new java.security.SecureRandom().generateSeed(4));
    Process init = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", label, "--pin",
        "bench-pin-1234", "--so-pin", "bench-so-1234").redirectErrorStream(true).start();
    String initOut = new String(init.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (init.waitFor() != 0) {
      throw new IllegalStateException("softhsm2-util failed (is SOFTHSM2_CONF set?): " + initOut);
    }
    ServerSettings settings = new ServerSettings(dir.resolve("storage"),
        new HostPort(host, GrpcLoadBenchmark.freePort(loopback)),
        new HostPort(host, GrpcLoadBenchmark.freePort(loopback)),
        LIBRARY, label, 16, null, null).withGrpcThreads(GRPC_THREADS).validate();
    List<EchoServer> echoes = new ArrayList<>();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      InitResult result = core.initialize(1, 1, "bench-pin-1234".toCharArray(), false,
          server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(result.shares().get(0));
      server.bean(HealthReporter.class).refresh();
      String keywardenExecutor = GRPC_THREADS > 0 ? "a fixed pool of " + GRPC_THREADS + " (--grpc-threads)"
          : (InlineCalls.enabledByProperty() ? "the event loop for warm Encrypt and Decrypt calls, " : "")
          + "a fixed pool of " + GrpcExecutor.FAST_THREADS + " for the unary calls that change nothing (Encrypt, …), "
              + "Micronaut's IO executor (" + server.bean(ExecutorService.class, "io").getClass().getName()
              + ") for the others";

      LoadClient.Lanes setup = LoadClient.Lanes.open(host, server.grpcPort());
      ClientInterceptor auth = LoadClient.auth(result.rootToken());
      TransitServiceGrpc.newBlockingStub(setup.channels().get(0)).withInterceptors(auth)
          .createKey(CreateKeyRequest.newBuilder().setName(GrpcLoadBenchmark.KEY).setType("aes256-gcm96").build());
      EncryptRequest probe = GrpcLoadBenchmark.request(1, 1024);
      EncryptResponse canned = TransitServiceGrpc.newBlockingStub(setup.channels().get(0)).withInterceptors(auth)
          .encrypt(probe);
      PkiServiceGrpc.PkiServiceBlockingStub pki = PkiServiceGrpc.newBlockingStub(setup.channels().get(0))
          .withInterceptors(auth);
      pki.generateRoot(GenerateRootRequest.newBuilder().setCommonName("Bench Root").setKeyType("ec-p256").build());
      for (boolean noStore : new boolean[] {false, true}) {
        String role = noStore ? "ephemeral" : "stored";
        pki.writeRole(WriteRoleRequest.newBuilder().setName(role).setRoleJson("{\"name\":\"" + role + "\","
            + "\"allowed_domains\":[\"example.com\"],\"allow_subdomains\":true,\"server_flag\":true,"
            + "\"ttl\":\"1h\",\"max_ttl\":\"1h\",\"no_store\":" + noStore + "}").build());
      }
      setup.close();

      // The echo service: grpc-java's Netty server with the defaults micronaut-grpc leaves (event loops, flow
      // control), the same transport as Keywarden's (GrpcTransport), the same inbound limit, and the same executor
      // for its one method as Keywarden gives a warm Encrypt: by default the event loop that read it (InlineCalls),
      // or the --grpc-threads pool. More echo servers differ from it in one thing each, the executor (a cached pool,
      // as Micronaut's IO executor is; the fixed pool of calls that do not wait) or the transport, in the same run.
      boolean inline = GRPC_THREADS == 0 && InlineCalls.enabledByProperty();
      int echoThreads = GRPC_THREADS > 0 ? GRPC_THREADS : inline ? -1 : GrpcExecutor.FAST_THREADS;
      echoes.add(EchoServer.start(host, canned, "echo", epoll(), echoThreads));
      if (VARIANTS && inline) {
        echoes.add(EchoServer.start(host, canned, "echo, fixed pool", epoll(), GrpcExecutor.FAST_THREADS));
      }
      if (VARIANTS) {
        echoes.add(EchoServer.start(host, canned, "echo, cached pool", epoll(), 0));
        echoes.add(EchoServer.start(host, canned, epoll() ? "echo, NIO" : "echo, epoll", !epoll(), echoThreads));
      }

      GrpcEdgeBenchmark b = new GrpcEdgeBenchmark(host, result.rootToken(), server.grpcPort(), echoes);
      String report = b.run(canned.getSerializedSize(), probe.getSerializedSize(), keywardenExecutor);
      System.out.println(report);
      Files.createDirectories(out.toAbsolutePath().getParent());
      Files.writeString(out, report);
      System.out.println("written to " + out);
    } finally {
      for (EchoServer e : echoes) {
        e.close();
      }
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    System.exit(0);
  }

  /**
   * Whether the servers of this run use epoll: NIO, as Keywarden serves ({@link GrpcTransport}), unless
   * -Dkeywarden.grpc.transport=auto lets grpc-java pick epoll.
   */
  static boolean epoll() {
    return io.netty.channel.epoll.Epoll.isAvailable()
        && "auto".equalsIgnoreCase(System.getProperty(GrpcTransport.PROPERTY, ""));
  }

  /** Where the client runs. */
  enum Layout {
    SAME_JVM("client in the server's JVM"),
    SEPARATE("client in its own JVM");

    final String shown;

    Layout(String shown) {
      this.shown = shown;
    }
  }

  private String run(int responseBytes, int requestBytes, String keywardenExecutor) throws Exception {
    // JIT warm-up of both servers (and of this JVM's client) before anything is measured.
    System.out.println("warming up...");
    if (!ONLY.equals("pki")) {
      phase(Layout.SAME_JVM, "encrypt", echoPort, "closed", IN_FLIGHT, Duration.ZERO, Duration.ofSeconds(6));
      phase(Layout.SAME_JVM, "encrypt", keywardenPort, "closed", IN_FLIGHT, Duration.ZERO, Duration.ofSeconds(6));
    }
    // SignCsr's path is long (CSR check, certificate, PKCS#11, storage): at 2,000-3,000 calls/s C2 was still taking a
    // fifth of the server's CPU 30 s in, and 3 s of warm-up left the stored row at half its warm rate (2026-12-02).
    phase(Layout.SAME_JVM, "signcsr:stored", keywardenPort, "closed", PKI_IN_FLIGHT, Duration.ZERO,
        Duration.ofSeconds(Long.getLong("keywarden.bench.pki-jit-warmup", 20)));
    StringBuilder table = new StringBuilder();
    for (Layout layout : Layout.values()) {
      if (!LAYOUT.isEmpty() && !layout.name().toLowerCase(Locale.ROOT).startsWith(LAYOUT)) {
        continue;
      }
      System.out.println("== " + layout.shown);
      boolean binding = layout == Layout.SEPARATE; // the targets hold for a client in its own process
      if (!ONLY.equals("pki")) {
        echoRows(layout, binding, table);
      }
      if (!ONLY.equals("echo")) {
        Measured measured = phase(layout, "signcsr:stored", keywardenPort, "closed", PKI_IN_FLIGHT, WARMUP,
            MEASURE);
        LoadDriver.Result stored = measured.client();
        // the target's CPU budget: every core busy, client and server together
        double budget = Runtime.getRuntime().availableProcessors() * 1e6 / TARGET_STORED_CERTS;
        table.append(row(layout, "SignCsr stored (SQLite, durable), closed loop, " + PKI_IN_FLIGHT + " in flight",
            fmt(stored.rate()) + " certificates/s" + errors(stored) + "; " + measured.cost()
                + String.format(Locale.ROOT, " (5,000/s on %d cores leaves %.0f µs per certificate for both)",
                Runtime.getRuntime().availableProcessors(), budget), "≥ 5,000/s",
            mark(binding, stored.rate() >= TARGET_STORED_CERTS && stored.errors() == 0)));
        if (PKI_NO_STORE) { // beside it, what the same calls cost when nothing is stored: the storage's share
          Measured ephemeral = phase(layout, "signcsr:ephemeral", keywardenPort, "closed", PKI_IN_FLIGHT, WARMUP,
              MEASURE);
          table.append(row(layout, "SignCsr no_store (for comparison), closed loop, " + PKI_IN_FLIGHT + " in flight",
              fmt(ephemeral.client().rate()) + " certificates/s" + errors(ephemeral.client()) + "; "
                  + ephemeral.cost(), "", ""));
        }
      }
    }
    return markdown(table.toString(), responseBytes, requestBytes, keywardenExecutor);
  }

  /**
   * Echo and Encrypt, closed loop, then open loop at half the echo rate: the echo with each call sent alone (as the
   * driver sent them before; the client's own wake-ups and flushes per call are then part of what is measured) and
   * on the lanes' own schedules, and Encrypt on the lanes' own schedules; then each echo variant, closed loop and
   * open loop at the same rate.
   */
  private void echoRows(Layout layout, boolean binding, StringBuilder table) throws Exception {
    // Echo, Encrypt, Encrypt, echo: a machine whose speed drifts during the run favours neither.
    Measured echo1 = phase(layout, "encrypt", echoPort, "closed", IN_FLIGHT, WARMUP, MEASURE);
    Measured enc1 = phase(layout, "encrypt", keywardenPort, "closed", IN_FLIGHT, WARMUP, MEASURE);
    Measured enc2 = phase(layout, "encrypt", keywardenPort, "closed", IN_FLIGHT, WARMUP, MEASURE);
    Measured echo2 = phase(layout, "encrypt", echoPort, "closed", IN_FLIGHT, WARMUP, MEASURE);
    Measured echoClosed = echo1.plus(echo2);
    Measured encClosed = enc1.plus(enc2);
    double half = Math.floor(echoClosed.client().rate() / 2 / 100) * 100;
    Measured echoAlone = phase(layout, "encrypt", echoPort, "open-per-call", half, WARMUP, MEASURE);
    Measured echoOpen = phase(layout, "encrypt", echoPort, "open", half, WARMUP, MEASURE);
    Measured encOpen = phase(layout, "encrypt", keywardenPort, "open", half, WARMUP, MEASURE);
    double ratio = encClosed.client().rate() / echoClosed.client().rate();
    table.append(row(layout, "Echo (bare grpc-java), closed loop, " + IN_FLIGHT + " in flight",
        fmt(echoClosed.client().rate()) + " calls/s (runs " + fmt(echo1.client().rate()) + ", "
            + fmt(echo2.client().rate()) + ")" + errors(echoClosed.client()) + "; " + echoClosed.cost(),
        "the ceiling", ""));
    table.append(row(layout, "Encrypt 1 KiB, closed loop, " + IN_FLIGHT + " in flight",
        fmt(encClosed.client().rate()) + " calls/s (runs " + fmt(enc1.client().rate()) + ", "
            + fmt(enc2.client().rate()) + ") = **" + String.format(Locale.ROOT, "%.2f×", ratio) + "** echo"
            + errors(encClosed.client()) + "; " + encClosed.cost(),
        "≥ " + TARGET_ECHO_RATIO + "× echo",
        mark(binding, ratio >= TARGET_ECHO_RATIO && encClosed.client().errors() == 0)));
    table.append(row(layout, "Echo, open loop at " + fmt(half) + "/s (half the echo rate), each call sent alone",
        latency(echoAlone.client()) + "; " + echoAlone.cost(), "", ""));
    table.append(row(layout, "Echo, open loop at " + fmt(half) + "/s (half the echo rate), timed per channel",
        latency(echoOpen.client()) + "; " + echoOpen.cost(), "", ""));
    table.append(row(layout, "Encrypt 1 KiB, open loop at " + fmt(half) + "/s (half the echo rate), timed per channel",
        latency(encOpen.client()) + "; " + encOpen.cost(), "p99 < " + (int) TARGET_P99_MS + " ms",
        mark(binding, encOpen.client().ms(99) < TARGET_P99_MS && encOpen.client().errors() == 0
            && !encOpen.client().overloaded())));
    for (EchoServer variant : echoes.subList(1, echoes.size())) {
      int port = variant.server().getPort();
      Measured closed = phase(layout, "encrypt", port, "closed", IN_FLIGHT, WARMUP, MEASURE);
      Measured open = phase(layout, "encrypt", port, "open", half, WARMUP, MEASURE);
      table.append(row(layout, "Variant: " + variant.name() + ", closed loop, " + IN_FLIGHT + " in flight",
          fmt(closed.client().rate()) + " calls/s" + errors(closed.client()) + "; " + closed.cost(), "", ""));
      table.append(row(layout, "Variant: " + variant.name() + ", open loop at " + fmt(half) + "/s",
          latency(open.client()) + "; " + open.cost(), "", ""));
    }
  }

  /**
   * A phase's result and what the servers' JVM spent in its measured window (null when the client ran in that JVM:
   * the client's figures are then both together).
   */
  record Measured(LoadDriver.Result client, ProcessCounters server) {
    /** Two closed-loop runs as one: their calls over their time. */
    Measured plus(Measured o) {
      LoadDriver.Result a = client;
      LoadDriver.Result b = o.client;
      return new Measured(new LoadDriver.Result(a.calls() + b.calls(), a.errors() + b.errors(),
          a.seconds() + b.seconds(), a.latency(), false, a.cpuNanos() + b.cpuNanos(), a.switches() + b.switches()),
          server == null ? null : new ProcessCounters(server.cpuNanos() + o.server.cpuNanos(),
              server.switches() + o.server.switches()));
    }

    /** CPU and context switches per call. */
    String cost() {
      if (server == null) {
        return String.format(Locale.ROOT, "client and server %.0f µs CPU, %.1f context switches per call",
            client.cpuMicrosPerCall(), client.switchesPerCall());
      }
      double calls = Math.max(1, client.calls());
      return String.format(Locale.ROOT, "CPU per call: client %.0f µs, server %.0f µs; context switches per call: "
          + "client %.1f, server %.1f", client.cpuMicrosPerCall(), server.cpuNanos() / 1e3 / calls,
          client.switchesPerCall(), server.switches() / calls);
    }
  }

  /** One measured phase, in this JVM or in a {@link LoadClient} process. */
  private Measured phase(Layout layout, String target, int port, String mode, double n, Duration warmup,
      Duration measure) throws Exception {
    String what = echoes.stream().filter(e -> e.server().getPort() == port).map(EchoServer::name).findFirst()
        .orElse("keywarden") + " " + target + " " + mode + " " + fmt(n);
    Measured m = layout == Layout.SAME_JVM ? inProcess(target, port, mode, n, warmup, measure)
        : child(target, port, mode, n, warmup, measure);
    LoadDriver.Result r = m.client();
    System.out.printf(Locale.ROOT, "  %-40s %,10.0f calls/s, %d errors, p50 %.2f p99 %.2f ms%s; %s (load %.1f)%n",
        what, r.rate(), r.errors(), r.ms(50), r.ms(99), r.overloaded() ? " OVERLOADED" : "", m.cost(),
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    return m;
  }

  private Measured inProcess(String target, int port, String mode, double n, Duration warmup, Duration measure)
      throws Exception {
    try (LoadClient.Lanes lanes = LoadClient.Lanes.open(host, port)) {
      LoadDriver.Call call = target.equals("encrypt") ? LoadClient.encrypt(lanes, LoadClient.auth(token))
          : LoadClient.signCsr(lanes, LoadClient.auth(token), target.substring("signcsr:".length()));
      return new Measured(LoadClient.drive(call, mode, n, warmup, measure, LoadDriver.Window.NONE), null);
    }
  }

  /**
   * Runs {@link LoadClient} in a new JVM with this JVM's GC settings and reads its result line; this JVM's own CPU
   * between the client's window lines is the server's.
   */
  private Measured child(String target, int port, String mode, double n, Duration warmup, Duration measure)
      throws Exception {

    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-XX:+UseG1GC");
    command.add("-XX:MaxGCPauseMillis=5");
    command.add("-D" + GrpcTransport.PROPERTY + "=" + System.getProperty(GrpcTransport.PROPERTY, ""));
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(LoadClient.class.getName());
    command.addAll(List.of(host, String.valueOf(port), token, target, mode, String.valueOf((long) n),
        String.valueOf(warmup.toSeconds() + 2), String.valueOf(measure.toSeconds())));
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String resultLine = null;
    ProcessCounters opened = null;
    ProcessCounters server = null;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        if (line.startsWith("RESULT ")) {
          resultLine = line;
        } else if (line.equals("WINDOW opened")) {
          opened = ProcessCounters.self();
        } else if (line.equals("WINDOW closed") && opened != null) {
          server = ProcessCounters.self().minus(opened);
        }
      }
    }
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0 || resultLine == null) {
      p.destroyForcibly();
      throw new IllegalStateException("the load client failed: " + String.join(" ", command));
    }
    return new Measured(LoadDriver.Result.parse(resultLine), server == null ? new ProcessCounters(0, 0) : server);
  }

  private static String markdown(String table, int responseBytes, int requestBytes, String keywardenExecutor) {
    StringBuilder s = new StringBuilder("# gRPC at the service's edges: against bare gRPC, across processes\n\n");
    s.append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
    s.append("- JDK: ").append(System.getProperty("java.vm.name")).append(' ')
        .append(System.getProperty("java.runtime.version")).append("; server JVM options: ")
        .append(String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()))
        .append("; CPU: ").append(GrpcLoadBenchmark.cpuModel()).append("; cores available: ")
        .append(Runtime.getRuntime().availableProcessors()).append("; load average at the end: ")
        .append(String.format(Locale.ROOT, "%.1f", java.lang.management.ManagementFactory.getOperatingSystemMXBean()
            .getSystemLoadAverage())).append(" (other work on the machine skews every figure)\n");
    s.append("- Keywarden: `ServerRuntime` (SoftHSM2, SQLite), root token, gRPC on ").append(epoll() ? "epoll" : "NIO")
        .append(", calls on ").append(keywardenExecutor)
        .append(". Echo: grpc-java `NettyServerBuilder`, on the executor Keywarden gives Encrypt, answering every Encrypt with a ")
        .append("captured Encrypt response (request ").append(requestBytes).append(" B, response ")
        .append(responseBytes).append(" B, as Keywarden's).\n");
    s.append("- Client: grpc-java async, ").append(LoadClient.CHANNELS).append(" Netty channels (")
        .append(io.netty.channel.epoll.Epoll.isAvailable() ? "epoll" : "NIO")
        .append("), each on a transport thread of its own, plaintext loopback; ")
        .append("in the server's JVM, or `java -cp benchmarks.jar dev.keywarden.bench.LoadClient` (G1, 5 ms goal). ")
        .append(WARMUP.toSeconds()).append(" s warm-up (+2 s in a new client JVM), ").append(MEASURE.toSeconds())
        .append(" s measured per row. Open loop timed per channel: each channel's transport thread starts its own ")
        .append("calls when due (a Netty timer, at most every ").append(LoadDriver.BURST_TICK_MICROS)
        .append(" µs, the calls then due in one flush); each call sent alone: one sender thread parks until each ")
        .append("call is due and starts it (the driver before issue #15's rework). Open-loop latency from each ")
        .append("call's intended send time. CPU per call: each process's CPU time over the measured window (the ")
        .append("server's is this JVM's, with the idle servers in it), over the calls answered in it.\n");
    s.append("- The targets bind the separate-process layout; the same-JVM rows are shown for comparison.\n\n");
    s.append("| Layout | Scenario | Measured | Target | Met |\n|---|---|---:|---|:---:|\n");
    s.append(table);
    return s.toString();
  }

  private static String row(Layout layout, String scenario, String measured, String target, String met) {
    return "| " + layout.shown + " | " + scenario + " | " + measured + " | " + target + " | " + met + " |\n";
  }

  private static String mark(boolean binding, boolean met) {
    String m = met ? "yes" : "**no**";
    return binding ? m : "(" + (met ? "yes" : "no") + ")";
  }

  private static String latency(LoadDriver.Result r) {
    return String.format(Locale.ROOT, "p50 %.2f / p99 %.2f / p99.9 %.2f / max %.2f ms (achieved %s/s)%s%s",
        r.ms(50), r.ms(99), r.ms(99.9), r.latency().getMaxValue() / 1e6, fmt(r.rate()),
        r.overloaded() ? ", OVERLOADED: gave up" : "", errors(r));
  }

  private static String errors(LoadDriver.Result r) {
    return r.errors() == 0 ? "" : ", " + r.errors() + " ERRORS";
  }

  private static String fmt(double v) {
    return GrpcLoadBenchmark.fmt(v);
  }
}
