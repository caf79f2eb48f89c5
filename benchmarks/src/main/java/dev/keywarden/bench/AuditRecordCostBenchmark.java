package dev.keywarden.bench;

import dev.keywarden.audit.AuditCall;
import dev.keywarden.audit.AuditCaller;
import dev.keywarden.audit.AuditDeviceConfig;
import dev.keywarden.audit.AuditDeviceConfig.FsyncPolicy;
import dev.keywarden.audit.AuditLog;
import dev.keywarden.audit.AuditMetrics;
import dev.keywarden.audit.AuditRequest;
import dev.keywarden.audit.AuditResponse;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Issue #12's audit cost without gRPC around it: threads calling {@code writeRequest} (which waits for the batched
 * file's fsync) and {@code writeResponse}, with a 1 KiB plaintext and a 1.4 KiB ciphertext as secrets, as the gate
 * does for a unary Encrypt. Prints, per round, the process's CPU per call split into the calling threads and the
 * device's writer (whose share includes its write and fsync system calls), and the bytes allocated per call by each.
 * CPU time, not the rate, is the figure to compare on a shared machine.
 * Args: [threads (32)] [seconds per round (8)] [the device's fsync interval in µs (its default)].
 */
public final class AuditRecordCostBenchmark {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  public static void main(String[] args) throws Exception {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 32;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    Path dir = Files.createTempDirectory("kw-bench-audit-cost-");
    InetAddress loopback = InetAddress.getLoopbackAddress();
    ServerSettings settings = new ServerSettings(dir.resolve("storage"),
        new HostPort(loopback.getHostAddress(), GrpcLoadBenchmark.freePort(loopback)),
        new HostPort(loopback.getHostAddress(), GrpcLoadBenchmark.freePort(loopback)),
        null, null, 16, null, null).validate();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, null, false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      AuditLog audit = server.bean(AuditLog.class);
      AuditDeviceConfig device = AuditDeviceConfig.file("cost", dir.resolve("cost.log"), FsyncPolicy.BATCHED);
      if (args.length > 2) {
        device = device.withFsyncInterval(Duration.ofNanos(Long.parseLong(args[2]) * 1000));
      }
      System.out.println("fsync interval: " + device.fsyncInterval());
      audit.enable(device);
      byte[] plaintext = new byte[1024];
      byte[] ciphertext = new byte[1400];
      new Random(1).nextBytes(plaintext);
      new Random(2).nextBytes(ciphertext);
      AuditCaller caller = new AuditCaller("token", "root", "acc-1234", "", "", List.of("root"));
      for (int round = 0; round <= 3; round++) {
        long writer = threadId("keywarden-audit-cost");
        AtomicBoolean stop = new AtomicBoolean();
        LongAdder calls = new LongAdder();
        LongAdder callerCpu = new LongAdder();
        LongAdder callerBytes = new LongAdder();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          ts.add(new Thread(() -> {
            long cpu0 = THREADS.getCurrentThreadCpuTime();
            long bytes0 = THREADS.getThreadAllocatedBytes(Thread.currentThread().getId());
            while (!stop.get()) {
              AuditCall call = audit.writeRequest(new AuditRequest("keywarden.v1.TransitService/Encrypt",
                  "transit/keys/bench-aes", "encrypt", caller, "/127.0.0.1:50000", true, "allowed",
                  Map.of("name", "bench-aes"), Map.of("plaintext", plaintext), 0));
              audit.writeResponse(call, new AuditResponse("OK", "", Map.of("key_version", "1"),
                  Map.of("ciphertext", ciphertext), 0, Map.of()));
              calls.increment();
            }
            callerCpu.add(THREADS.getCurrentThreadCpuTime() - cpu0);
            callerBytes.add(THREADS.getThreadAllocatedBytes(Thread.currentThread().getId()) - bytes0);
          }, "caller-" + t));
        }
        long process0 = processCpu();
        long writerCpu0 = THREADS.getThreadCpuTime(writer);
        long writerBytes0 = THREADS.getThreadAllocatedBytes(writer);
        long wall0 = System.nanoTime();
        ts.forEach(Thread::start);
        Thread.sleep(seconds * 1000L);
        stop.set(true);
        for (Thread t : ts) {
          t.join();
        }
        audit.sync(Duration.ofSeconds(5));
        double n = calls.sum();
        AuditMetrics.Device m = audit.metrics().devices().get(0);
        if (round > 0) { // round 0 warms up
          System.out.printf(Locale.ROOT, "round %d: %,.0f calls/s; CPU per call %.1f µs (callers %.1f, writer %.1f);"
                  + " allocated per call %,.0f B by callers, %,.0f B by the writer; %.1f records per fsync%n", round,
              n / ((System.nanoTime() - wall0) / 1e9), (processCpu() - process0) / 1e3 / n, callerCpu.sum() / 1e3 / n,
              (THREADS.getThreadCpuTime(writer) - writerCpu0) / 1e3 / n, callerBytes.sum() / n,
              (THREADS.getThreadAllocatedBytes(writer) - writerBytes0) / n,
              m.recordsWritten() / (double) Math.max(1, m.fsyncs()));
        }
      }
      audit.disable("cost");
    } finally {
      try (var walk = Files.walk(dir)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    System.exit(0); // Micronaut and Netty leave non-daemon threads behind
  }

  /** The newest live thread named {@code name}: the device may be opened again (it follows the change feed). */
  private static long threadId(String name) {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name) && t.isAlive())
        .mapToLong(Thread::getId).max().orElseThrow(() -> new IllegalStateException("no thread " + name));
  }

  private static long processCpu() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }
}
