package dev.keywarden.bench;

import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.audit.AuditDeviceConfig;
import dev.keywarden.audit.AuditDeviceConfig.FsyncPolicy;
import dev.keywarden.audit.AuditLog;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Issue #12's audit cost on the real gRPC server: unary Encrypt of 1 KiB, closed loop, with auditing off, with one
 * {@code batched} file device and with one {@code every-record} file device, in alternating rounds (off, batched,
 * every-record; three rounds, the first a warm-up) so that drift on a shared machine hits all of them; then the open loop at 10,000 calls/s with
 * auditing off and batched. The disk's own fsync latency (4 KiB appends, same directory) is measured in the same run,
 * briefly before and after, and at the batched device's fsync rate for as long as the open loop ran (its stalls):
 * a call waits for the fsync of the batch its request record is in, so that is what bounds a batched device.
 * The closed loop runs at 128 calls in flight and at a wider count (512), audit off and batched at both.
 * Args: [report (benchmarks/results/audit.md)] [wider in-flight (512)] [seconds per closed-loop run (10)].
 */
public final class AuditOverheadBenchmark {
  /**
   * -Dkeywarden.bench.audit.fsync-interval-us=N: the batched devices' fsync interval in µs (default: the device's own
   * default), to measure the trade between a call's wait and the CPU each fsync's batch costs.
   */
  private static final long FSYNC_INTERVAL_MICROS = Long.getLong("keywarden.bench.audit.fsync-interval-us", -1);

  /** The batched devices' fsync interval in this run. */
  private static Duration fsyncInterval() {
    return FSYNC_INTERVAL_MICROS >= 0 ? Duration.ofNanos(FSYNC_INTERVAL_MICROS * 1_000)
        : AuditDeviceConfig.DEFAULT_FSYNC_INTERVAL;
  }

  /** A batched device with this run's fsync interval (its own default unless the property sets one). */
  private static AuditDeviceConfig withBenchInterval(AuditDeviceConfig batched) {
    return FSYNC_INTERVAL_MICROS >= 0 ? batched.withFsyncInterval(fsyncInterval()) : batched;
  }

  private static final double TARGET_RATIO = 0.7;
  private static final double TARGET_RATE = 10_000;
  private static final double TARGET_P99_MS = 5;

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "benchmarks/results/audit.md");
    int wideInFlight = args.length > 1 ? Integer.parseInt(args[1]) : 512;
    Duration measure = Duration.ofSeconds(args.length > 2 ? Long.parseLong(args[2]) : 10);
    Path dir = Files.createTempDirectory("kw-bench-audit-");
    InetAddress loopback = InetAddress.getLoopbackAddress();
    ServerSettings settings = new ServerSettings(dir.resolve("storage"),
        new HostPort(loopback.getHostAddress(), GrpcLoadBenchmark.freePort(loopback)),
        new HostPort(loopback.getHostAddress(), GrpcLoadBenchmark.freePort(loopback)),
        null, null, 16, null, null).validate();
    List<ManagedChannel> channels = new ArrayList<>();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, null, false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      AuditLog audit = server.bean(AuditLog.class);
      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + init.rootToken());
      List<TransitServiceGrpc.TransitServiceStub> stubs = new ArrayList<>();
      for (int i = 0; i < GrpcLoadBenchmark.CHANNELS; i++) {
        ManagedChannel ch = NettyChannelBuilder.forAddress(loopback.getHostAddress(), server.grpcPort())
            .usePlaintext().directExecutor().build();
        channels.add(ch);
        stubs.add(TransitServiceGrpc.newStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth)));
      }
      TransitServiceGrpc.newBlockingStub(channels.get(0))
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth))
          .createKey(CreateKeyRequest.newBuilder().setName(GrpcLoadBenchmark.KEY).build());
      GrpcLoadBenchmark bench = new GrpcLoadBenchmark(stubs);
      EncryptRequest unary = GrpcLoadBenchmark.request(1, 1024);
      System.out.println("warming up...");
      bench.closedLoop(unary, wideInFlight, Duration.ZERO, Duration.ofSeconds(5), List.of());
      // the audited path warms up too, or the first audited round pays for its JIT compilation
      audit.enable(AuditDeviceConfig.file("warm", dir.resolve("warm.log"), FsyncPolicy.BATCHED));
      bench.closedLoop(unary, wideInFlight, Duration.ZERO, Duration.ofSeconds(5), List.of());
      audit.disable("warm");
      bench.closedLoop(unary, wideInFlight, Duration.ZERO, Duration.ofSeconds(2), List.of());
      double[] fsyncBefore = fsyncMillis(dir);

      // rounds alternate the modes so drift on a shared machine hits all of them; round 1 only warms up (each
      // enable/disable makes the JIT throw away and redo compiled code, and the first time after a switch ran slow)
      Mode[] modes = {new Mode(null, 128), new Mode(FsyncPolicy.BATCHED, 128), new Mode(FsyncPolicy.EVERY_RECORD, 128),
          new Mode(null, wideInFlight), new Mode(FsyncPolicy.BATCHED, wideInFlight)};
      int device = 0;
      for (int round = 0; round <= (Boolean.getBoolean("keywarden.bench.audit.openOnly") ? -1 : ROUNDS); round++) {
        for (Mode mode : modes) {
          String name = null;
          if (mode.fsync != null) {
            name = "bench" + device++;
            AuditDeviceConfig file = AuditDeviceConfig.file(name, dir.resolve(name + ".log"), mode.fsync);
            audit.enable(mode.fsync == FsyncPolicy.BATCHED ? withBenchInterval(file) : file);
          }
          long cpu0 = cpuNanos();
          long bytes0 = allocatedBytes();
          var c = bench.closedLoop(unary, mode.inFlight, Duration.ofSeconds(2), measure, List.of());
          // the whole process's CPU (server, client, device writers) per call, warm-up included on both sides
          long cpu = cpuNanos() - cpu0;
          long bytes = allocatedBytes() - bytes0;
          double calls = c.callsPerSecond() * (measure.toSeconds() + 2);
          if (name != null) {
            audit.disable(name);
          }
          if (round > 0) {
            mode.rates[round - 1] = c.callsPerSecond();
            mode.cpuPerCall += cpu / 1e3 / calls / ROUNDS;
            mode.bytesPerCall += bytes / calls / ROUNDS;
            mode.errors += c.errors();
          }
          System.out.printf(Locale.ROOT, "round %d%s, %s at %d in flight: %,.0f calls/s (%d errors), %.0f us CPU, %,.0f"
              + " bytes allocated per call%n", round, round == 0 ? " (warm-up)" : "", label(mode.fsync),
              mode.inFlight, c.callsPerSecond(), c.errors(), cpu / 1e3 / calls, bytes / calls);
        }
      }
      System.out.println("open loop at 10,000/s, audit off...");
      long c0 = cpuNanos();
      long w0 = System.nanoTime();
      GrpcLoadBenchmark.Open openOff = bench.openLoop(unary, TARGET_RATE);
      double offCores = (cpuNanos() - c0) / (double) (System.nanoTime() - w0);
      audit.enable(withBenchInterval(AuditDeviceConfig.file("paced", dir.resolve("paced.log"), FsyncPolicy.BATCHED)));
      System.out.println("open loop at 10,000/s, batched file...");
      c0 = cpuNanos();
      w0 = System.nanoTime();
      GrpcLoadBenchmark.Open openOn = bench.openLoop(unary, TARGET_RATE);
      double onCores = (cpuNanos() - c0) / (double) (System.nanoTime() - w0);
      var metrics = audit.metrics().devices().stream().filter(d -> d.device().equals("paced")).findFirst()
          .orElseThrow();
      audit.disable("paced");
      double[] fsyncAfter = fsyncMillis(dir);
      // the disk alone, at the fsync rate the batched device reached, for as long as the open loop ran
      double openSeconds = (GrpcLoadBenchmark.WARMUP.toNanos() + GrpcLoadBenchmark.MEASURE.toNanos()) / 1e9;
      double fsyncRate = metrics.fsyncs() / openSeconds;
      System.out.printf(Locale.ROOT, "the disk alone: fsync at %,.0f/s for %.0f s...%n", fsyncRate, openSeconds);
      DiskStalls disk = DiskStalls.probe(dir, Math.max(1, fsyncRate), openSeconds, TARGET_P99_MS);

      String report = markdown(modes, measure, openOff, openOn,
          fsyncBefore, fsyncAfter,
          metrics.recordsWritten() / (double) Math.max(1, metrics.fsyncs()), disk);
      report += String.format(Locale.ROOT, "%nCPU in the open loop (the whole process, client included): %.2f cores"
          + " with audit off, %.2f with the batched device, of %d.%n", offCores, onCores,
          Runtime.getRuntime().availableProcessors());
      report += String.format(Locale.ROOT, "%nThe batched device's own write latency at 10,000 calls/s (hand-over to written"
          + " and fsynced, from its metrics): p50 ≤ %s, p99 ≤ %s.%n", bucket(metrics.writeLatency(), 0.5),
          bucket(metrics.writeLatency(), 0.99));
      System.out.println(report);
      Files.createDirectories(out.toAbsolutePath().getParent());
      Files.writeString(out, report);
      System.out.println("written to " + out);
    } finally {
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
      // the audit files of a run take hundreds of MiB
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    System.exit(0); // Micronaut and Netty leave non-daemon threads behind
  }

  private static final int ROUNDS = 2;

  /** One closed-loop configuration: its rates in the measured rounds and its means. */
  private static final class Mode {
    final FsyncPolicy fsync;
    final int inFlight;
    final double[] rates = new double[ROUNDS];
    double cpuPerCall;
    double bytesPerCall;
    long errors;

    Mode(FsyncPolicy fsync, int inFlight) {
      this.fsync = fsync;
      this.inFlight = inFlight;
    }

    double mean() {
      return java.util.Arrays.stream(rates).average().orElse(0);
    }
  }

  private static String label(FsyncPolicy mode) {
    return mode == null ? "audit off" : mode == FsyncPolicy.BATCHED ? "batched file" : "every-record file";
  }

  /** p50 and p99 of 200 appends of 4 KiB, each followed by an fsync, in {@code dir}. */
  private static double[] fsyncMillis(Path dir) throws IOException {
    Path f = dir.resolve("fsync-probe");
    long[] took = new long[200];
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND)) {
      ByteBuffer block = ByteBuffer.allocate(4096);
      for (int i = 0; i < took.length; i++) {
        block.clear();
        long t0 = System.nanoTime();
        ch.write(block);
        ch.force(false);
        took[i] = System.nanoTime() - t0;
      }
    } finally {
      Files.deleteIfExists(f);
    }
    Arrays.sort(took);
    return new double[] {took[took.length / 2] / 1e6, took[took.length * 99 / 100] / 1e6};
  }

  /** The upper bound of the bucket holding quantile {@code q}. */
  private static String bucket(dev.keywarden.audit.AuditMetrics.Histogram h, double q) {
    long[] counts = h.counts();
    long want = (long) Math.ceil(h.count() * q);
    long seen = 0;
    for (int i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (seen >= want) {
        return i < h.upperBounds().size() ? h.upperBounds().get(i).toNanos() / 1e6 + " ms" : "more than the top bound";
      }
    }
    return "n/a";
  }

  /**
   * Bytes allocated so far by the threads alive now (server, client, device writers): sampled around a run, the
   * difference per call is what the collector has to clear (threads that ended meanwhile are missed).
   */
  private static long allocatedBytes() {
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (long b : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      sum += Math.max(0, b);
    }
    return sum;
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static String markdown(Mode[] modes, Duration measure, GrpcLoadBenchmark.Open off,
      GrpcLoadBenchmark.Open on, double[] fsyncBefore, double[] fsyncAfter, double recordsPerFsync, DiskStalls disk) {
    StringBuilder s = new StringBuilder();
    s.append("# Audit overhead: unary Encrypt 1 KiB through the gate, with and without a file device\n\n");
    s.append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
    s.append("- JDK: ").append(System.getProperty("java.runtime.version")).append("; CPU: ")
        .append(GrpcLoadBenchmark.cpuModel()).append("; cores: ").append(Runtime.getRuntime().availableProcessors())
        .append('\n');
    s.append("- Setup: as grpc-load.md (server and client in one JVM, ").append(GrpcLoadBenchmark.CHANNELS)
        .append(" channels, root token, software KEK, SQLite); closed loop, ").append(measure.toSeconds())
        .append(" s per run, the modes below alternating in ").append(ROUNDS).append(" rounds after a warm-up round")
        .append(" (not shown); one file device (").append(FSYNC_INTERVAL_MICROS >= 0 ? "" : "default ")
        .append("fsync interval ").append(fsyncInterval().toNanos() / 1e6).append(" ms) in the same temp directory as")
        .append(" storage. A mode's rate is its best at the in-flight counts tried (a batched device's calls wait for")
        .append(" an fsync, so it needs more calls in flight to keep the cores busy).\n");
    s.append(String.format(Locale.ROOT, "- The disk's fsync (4 KiB append + fsync, same directory): p50 %.2f ms, "
        + "p99 %.2f ms before the runs; p50 %.2f ms, p99 %.2f ms after.%n", fsyncBefore[0], fsyncBefore[1],
        fsyncAfter[0], fsyncAfter[1]));
    s.append(String.format(Locale.ROOT, "- Batched device at 10,000 calls/s: %.1f records per fsync.%n%n",
        recordsPerFsync));
    s.append("| Scenario | In flight |");
    for (int r = 1; r <= ROUNDS; r++) {
      s.append(" Round ").append(r).append(" |");
    }
    s.append(" Mean | CPU per call | Allocated per call | Ratio to off, same in flight |\n|---|---:|");
    s.append("---:|".repeat(ROUNDS)).append("---:|---:|---:|---:|\n");
    double bestOff = 0;
    double bestBatched = 0;
    long batchedErrors = 0;
    for (Mode m : modes) {
      double sameOff = 0;
      for (Mode o : modes) {
        if (o.fsync == null && o.inFlight == m.inFlight) {
          sameOff = o.mean();
        }
      }
      s.append("| ").append(label(m.fsync)).append(" | ").append(m.inFlight).append(" |");
      for (double r : m.rates) {
        s.append(' ').append(GrpcLoadBenchmark.fmt(r)).append(" |");
      }
      s.append(String.format(Locale.ROOT, " %s calls/s%s | %.0f µs | %,.0f B | %.2f |%n",
          GrpcLoadBenchmark.fmt(m.mean()), err(m.errors), m.cpuPerCall, m.bytesPerCall, m.mean() / sameOff));
      if (m.fsync == null) {
        bestOff = Math.max(bestOff, m.mean());
      } else if (m.fsync == FsyncPolicy.BATCHED) {
        bestBatched = Math.max(bestBatched, m.mean());
        batchedErrors += m.errors;
      }
    }
    double ratio = bestBatched / bestOff;
    s.append(String.format(Locale.ROOT, "%n| Closed loop, best of each mode | Audit off | Batched file | Ratio | Target "
        + "| Met |%n|---|---:|---:|---:|---|:---:|%n| Unary Encrypt 1 KiB | %s calls/s | %s calls/s | %.2f | ≥ 0.70 ×"
        + " off | %s |%n", GrpcLoadBenchmark.fmt(bestOff), GrpcLoadBenchmark.fmt(bestBatched), ratio,
        ratio >= TARGET_RATIO && batchedErrors == 0 ? "yes" : "**no**"));
    s.append("\n| Open loop, 10,000 calls/s | Achieved | p50 | p99 | p99.9 | max | Target | Met |\n");
    s.append("|---|---:|---:|---:|---:|---:|---|:---:|\n");
    s.append(open("Audit off", off, ""));
    double p99 = GrpcLoadBenchmark.ms(on.latency().getValueAtPercentile(99));
    boolean met = p99 < TARGET_P99_MS && on.errors() == 0 && !on.overloaded();
    s.append(open("File device, `batched`", on, "p99 < 5 ms | " + (met ? "yes"
        : disk.stallShare() >= 0.01 ? "**no** (the disk: see below)" : "**no**")));
    s.append(String.format(Locale.ROOT, "%nThe disk alone in the same run (4 KiB append + fsync in the device's"
            + " directory, one thread, paced at the %,.0f fsyncs/s the batched device made, %.0f s): p50 %.2f ms, p99"
            + " %.2f ms, p99.9 %.2f ms, max %.1f ms; %d fsyncs took over %.0f ms, and for %.2f%% of the time an fsync had"
            + " been running for more than %.0f ms. A call arriving then waits longer than that whatever the device"
            + " does (its record is in the batch of the next fsync at the earliest), so when that share is 1%% or"
            + " more no batched device can keep p99 under %.0f ms on this disk.%n", disk.rate(), disk.seconds(),
        disk.p50(), disk.p99(), disk.p999(), disk.max(), disk.slow(), TARGET_P99_MS, disk.stallShare() * 100,
        TARGET_P99_MS, TARGET_P99_MS));
    s.append("\nA call waits for the fsync of the batch holding its request record (fail closed: the record is on "
        + "disk before the engine runs); its response record is handed over without waiting and goes into the "
        + "next batch. So a batched device costs each call about one to two fsyncs of latency, and a closed loop's "
        + "rate is bounded by calls in flight ÷ that latency; with every-record, each record is its own write and "
        + "fsync, so the rate is bounded by 1 ÷ (2 × fsync).\n");
    return s.toString();
  }

  private static String open(String name, GrpcLoadBenchmark.Open o, String target) {
    return String.format(Locale.ROOT, "| %s | %s/s%s%s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %s |%n", name,
        GrpcLoadBenchmark.fmt(o.calls() / o.seconds()), err(o.errors()), o.overloaded() ? ", OVERLOADED" : "",
        GrpcLoadBenchmark.ms(o.latency().getValueAtPercentile(50)),
        GrpcLoadBenchmark.ms(o.latency().getValueAtPercentile(99)),
        GrpcLoadBenchmark.ms(o.latency().getValueAtPercentile(99.9)),
        GrpcLoadBenchmark.ms(o.latency().getMaxValue()), target.isEmpty() ? " | " : target);
  }

  private static String err(long n) {
    return n == 0 ? "" : ", " + n + " ERRORS";
  }
}
