package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keywarden.failure.KeywardenException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fail closed, never blocked: real devices that start failing (a full tmpfs) or stop taking bytes (a collector that
 * stops reading) refuse calls within their timeout, then at once, and work again once the fault clears.
 */
class AuditDeviceFaultsTest {
  private static final Duration TIMEOUT = Duration.ofMillis(500);
  /** Scheduling and fsync noise on a shared 2-core machine. */
  private static final long SLACK_MS = 1000;
  @TempDir
  Path dir;
  AuditFixture f;

  @BeforeEach
  void open() throws Exception {
    f = new AuditFixture(dir);
  }

  @AfterEach
  void close() {
    if (f != null) {
      f.close();
    }
  }

  private static AuditRequest big(int i) {
    AuditRequest r = AuditFixture.request(i);
    return new AuditRequest(r.rpc(), r.resource(), r.capability(), r.caller(), r.remoteAddress(), true, r.reason(),
        Map.of("padding", "x".repeat(32 * 1024)), r.secrets(), 0);
  }

  private record Timed(long millis, KeywardenException refusal) {}

  private Timed timedRequest(AuditRequest r) {
    long t0 = System.nanoTime();
    try {
      AuditCall call = f.audit.writeRequest(r);
      f.audit.writeResponse(call, AuditResponse.of("OK"));
      return new Timed((System.nanoTime() - t0) / 1_000_000, null);
    } catch (KeywardenException e) {
      return new Timed((System.nanoTime() - t0) / 1_000_000, e);
    }
  }

  private void assertUnavailable(Timed t) {
    assertNotNull(t.refusal(), "the call should have been refused");
    assertEquals(KeywardenException.Kind.UNAVAILABLE, t.refusal().kind());
    assertTrue(t.refusal().getMessage().startsWith("audit log unavailable"), t.refusal().getMessage());
  }

  /** Calls until one succeeds again, within {@code within}. */
  private long recoversWithin(Duration within) throws InterruptedException {
    long t0 = System.nanoTime();
    while (System.nanoTime() - t0 < within.toNanos()) {
      if (timedRequest(AuditFixture.request(0)).refusal() == null) {
        return (System.nanoTime() - t0) / 1_000_000;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no call succeeded within " + within);
  }

  private AuditHealth.DeviceHealth health(String name) {
    return f.audit.health().devices().stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void withNoDeviceNothingIsAudited() {
    assertEquals(AuditCall.NOT_AUDITED, f.audit.writeRequest(AuditFixture.request(1)));
    f.audit.writeResponse(AuditCall.NOT_AUDITED, AuditResponse.of("OK"));
    assertTrue(f.audit.health().available());
    assertEquals(0, f.audit.metrics().devices().size());
  }

  @Test
  void aDeviceThatCannotOpenIsNotEnabled() {
    KeywardenException e = assertThrows(KeywardenException.class, () -> f.audit.enable(
        AuditDeviceConfig.file("x", dir.resolve("missing/dir/audit.log"), AuditDeviceConfig.FsyncPolicy.BATCHED)));
    assertEquals(KeywardenException.Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("no such file or directory"), e.getMessage());
    assertTrue(f.audit.list().isEmpty());
    assertEquals(AuditCall.NOT_AUDITED, f.audit.writeRequest(AuditFixture.request(1)));
  }

  @Test
  void aFileOnAFullDiskFailsFastAndRecoversWhenSpaceIsFreed() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
    Path mnt = Files.createDirectories(dir.resolve("tmpfs"));
    run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt.toString());
    try {
      f.audit.enable(AuditDeviceConfig.file("disk", mnt.resolve("audit.log"), AuditDeviceConfig.FsyncPolicy.BATCHED)
          .withTimeout(TIMEOUT));
      assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(mnt.resolve("audit.log"))));
      fill(mnt.resolve("filler"));
      Timed first = null;
      for (int i = 0; i < 200 && (first == null || first.refusal() == null); i++) {
        first = timedRequest(AuditFixture.request(i));
      }
      assertUnavailable(first);
      assertTrue(first.millis() < TIMEOUT.toMillis() + SLACK_MS, "refused after " + first.millis() + " ms");
      Timed next = timedRequest(AuditFixture.request(1));
      assertUnavailable(next);
      assertTrue(next.millis() < 100, "a failing device refuses at once, took " + next.millis() + " ms");
      assertEquals(AuditHealth.State.FAILING, health("disk").state());
      assertTrue(health("disk").reason().contains("No space left"), health("disk").reason());
      assertTrue(!f.audit.health().available());

      Files.delete(mnt.resolve("filler"));
      long ms = recoversWithin(Duration.ofSeconds(5));
      System.out.println("audit: full tmpfs: first refusal after " + first.millis() + " ms, then "
          + next.millis() + " ms; writes again " + ms + " ms after space was freed");
      assertEquals(AuditHealth.State.HEALTHY, health("disk").state());
      assertTrue(f.audit.metrics().devices().get(0).failures() > 0);
      f.calls(3);
      PublicKey key = f.audit.publicKey();
      f.audit.disable("disk");
      Verification v = AuditVerifier.verify(List.of(mnt.resolve("audit.log")), key, true);
      assertTrue(v.intact(), v.summary());
      assertTrue(Files.readString(mnt.resolve("audit.log")).contains("\"type\":\"resumed\""));
    } finally {
      f.close();
      f = null;
      run("umount", "-l", mnt.toString());
    }
  }

  @Test
  void aCollectorThatStopsReadingFailsCallsWithinTheTimeoutThenAtOnceUntilItReadsAgain() throws Exception {
    AtomicReference<Socket> peer = new AtomicReference<>();
    try (ServerSocket server = collectorThatDoesNotRead(peer)) {
      f.audit.enable(AuditDeviceConfig.socket("ship", "tcp:127.0.0.1:" + server.getLocalPort()).withTimeout(TIMEOUT));
      Timed first = null;
      int written = 0;
      for (int i = 0; i < 5000 && (first == null || first.refusal() == null); i++) {
        first = timedRequest(big(i));
        written++;
      }
      assertUnavailable(first);
      assertTrue(first.millis() < TIMEOUT.toMillis() + SLACK_MS, "refused after " + first.millis() + " ms");
      Timed next = timedRequest(big(0));
      assertUnavailable(next);
      assertTrue(next.millis() < 100, "a stuck device refuses at once, took " + next.millis() + " ms");
      assertEquals(AuditHealth.State.STUCK, health("ship").state());

      Thread reader = drain(peer.get());
      long ms = recoversWithin(Duration.ofSeconds(5));
      System.out.println("audit: stuck collector after " + written + " calls of 32 KiB: refused after "
          + first.millis() + " ms, then " + next.millis() + " ms; writes again " + ms + " ms after it read again");
      assertEquals(AuditHealth.State.HEALTHY, health("ship").state());
      f.audit.disable("ship");
      reader.join(5000);
    }
  }

  @Test
  void heldCallsWhoseRecordAStuckCollectorNeverTakesAreRefusedWithinTheTimeout() throws Exception {
    AtomicReference<Socket> peer = new AtomicReference<>();
    try (ServerSocket server = collectorThatDoesNotRead(peer)) {
      f.audit.enable(AuditDeviceConfig.socket("ship", "tcp:127.0.0.1:" + server.getLocalPort()).withTimeout(TIMEOUT));
      int held = 0;
      ConcurrentLinkedQueue<Long> refusedAfterMs = new ConcurrentLinkedQueue<>();
      AtomicInteger outcomes = new AtomicInteger();
      AtomicInteger twice = new AtomicInteger();
      for (int i = 0; i < 5000; i++) {
        long t0 = System.nanoTime();
        AtomicBoolean told = new AtomicBoolean();
        try {
          f.audit.writeRequestHeld(big(i), new AuditLog.Release() {
            @Override
            public void written() {
              outcomes.incrementAndGet();
              if (!told.compareAndSet(false, true)) {
                twice.incrementAndGet();
              }
            }

            @Override
            public void refused(KeywardenException e) {
              assertEquals(KeywardenException.Kind.UNAVAILABLE, e.kind());
              refusedAfterMs.add((System.nanoTime() - t0) / 1_000_000);
              outcomes.incrementAndGet();
              if (!told.compareAndSet(false, true)) {
                twice.incrementAndGet();
              }
            }
          });
          held++;
        } catch (KeywardenException refusedOnTheSpot) {
          break; // the device is known stuck: calls are refused at once from here on
        }
      }
      long deadline = System.nanoTime() + TIMEOUT.toNanos() + SLACK_MS * 1_000_000;
      while (outcomes.get() < held && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(held, outcomes.get(), "every held call hears written or refused");
      assertEquals(0, twice.get(), "and only once");
      assertTrue(!refusedAfterMs.isEmpty(), "the calls behind the stuck collector expire");
      for (long ms : refusedAfterMs) {
        assertTrue(ms < TIMEOUT.toMillis() + SLACK_MS, "refused after " + ms + " ms");
      }
      drain(peer.get());
      recoversWithin(Duration.ofSeconds(5));
      f.audit.disable("ship");
    }
  }

  @Test
  void withTwoDevicesOneStuckCallsGoOn() throws Exception {
    try (ServerSocket server = collectorThatDoesNotRead(new AtomicReference<>())) {
      f.audit.enable(f.fileDevice("file", AuditDeviceConfig.FsyncPolicy.BATCHED));
      f.audit.enable(AuditDeviceConfig.socket("ship", "tcp:127.0.0.1:" + server.getLocalPort()).withTimeout(TIMEOUT));
      long slowest = 0;
      for (int i = 0; i < 400; i++) {
        Timed t = timedRequest(big(i));
        assertEquals(null, t.refusal(), "call " + i);
        slowest = Math.max(slowest, t.millis());
      }
      // The calls never waited for the socket, so its writer may still be inside its timeout: give it that long.
      long deadline = System.nanoTime() + TIMEOUT.toNanos() * 4 + SLACK_MS * 1_000_000L;
      while (health("ship").state() != AuditHealth.State.STUCK && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(AuditHealth.State.STUCK, health("ship").state());
      assertEquals(AuditHealth.State.HEALTHY, health("file").state());
      assertTrue(f.audit.health().available());
      assertTrue(slowest < TIMEOUT.toMillis() + SLACK_MS, "slowest call " + slowest + " ms");
      System.out.println("audit: file + stuck socket: 400 calls all written, slowest " + slowest + " ms");
    }
  }

  /** A collector with a small receive buffer that accepts one connection (into {@code peer}) and does not read it. */
  private static ServerSocket collectorThatDoesNotRead(AtomicReference<Socket> peer) throws IOException {
    ServerSocket server = new ServerSocket();
    server.setReceiveBufferSize(4096);
    server.bind(new InetSocketAddress("127.0.0.1", 0));
    Thread acceptor = new Thread(() -> {
      try {
        peer.set(server.accept());
      } catch (IOException ignored) {
        // closed
      }
    });
    acceptor.start();
    return server;
  }

  private static Thread drain(Socket s) {
    Thread t = new Thread(() -> {
      try (InputStream in = s.getInputStream()) {
        in.transferTo(OutputStream.nullOutputStream());
      } catch (IOException ignored) {
        // closed
      }
    });
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void fill(Path file) {
    try (OutputStream out = Files.newOutputStream(file)) {
      byte[] chunk = new byte[1024];
      for (int i = 0; i < 1024; i++) {
        out.write(chunk);
        out.flush();
      }
    } catch (IOException full) {
      return;
    }
    throw new AssertionError("the tmpfs did not fill up");
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assumeTrue(p.exitValue() == 0, String.join(" ", command) + ": " + out);
  }
}
