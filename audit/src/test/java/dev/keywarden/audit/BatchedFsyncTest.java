package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Records of concurrent calls share one write and one fsync (a group commit); every-record fsyncs each. */
class BatchedFsyncTest {
  private static final int THREADS = 16;
  @TempDir
  Path dir;
  AuditFixture f;

  @BeforeEach
  void open() throws Exception {
    // the default cadence (10,000 records or 60 s): checkpoints would otherwise add fsyncs of their own
    f = new AuditFixture(dir, AuditOptions.defaults("node-1"));
  }

  @AfterEach
  void close() {
    f.close();
  }

  private record Run(long records, long fsyncs, double recordsPerSecond) {}

  private Run concurrentCalls(String device, AuditDeviceConfig.FsyncPolicy policy, int callsPerThread)
      throws Exception {
    f.audit.enable(f.fileDevice(device, policy));
    long before = metrics(device).recordsWritten();
    long fsyncsBefore = metrics(device).fsyncs();
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    long t0 = System.nanoTime();
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        done.add(pool.submit(() -> f.calls(callsPerThread)));
      }
      for (Future<?> d : done) {
        d.get();
      }
    } finally {
      pool.shutdown();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    long records = metrics(device).recordsWritten() - before;
    Run run = new Run(records, metrics(device).fsyncs() - fsyncsBefore, records / seconds);
    PublicKey key = f.audit.publicKey();
    f.audit.disable(device);
    Verification v = AuditVerifier.verify(List.of(f.file(device + ".log")), key, true);
    assertTrue(v.intact(), v.summary());
    return run;
  }

  private AuditMetrics.Device metrics(String device) {
    return f.audit.metrics().devices().stream().filter(d -> d.device().equals(device)).findFirst().orElseThrow();
  }

  @Test
  void concurrentWritersShareFsyncs() throws Exception {
    Run batched = concurrentCalls("batched", AuditDeviceConfig.FsyncPolicy.BATCHED, 100);
    Run each = concurrentCalls("each", AuditDeviceConfig.FsyncPolicy.EVERY_RECORD, 25);
    System.out.printf("audit: %d threads, request+response per call, fsync to %s: batched %d records / %d fsyncs "
        + "= %.0f records/s; every-record %d records / %d fsyncs = %.0f records/s%n", THREADS, dir,
        batched.records(), batched.fsyncs(), batched.recordsPerSecond(), each.records(), each.fsyncs(),
        each.recordsPerSecond());
    assertTrue(batched.records() >= THREADS * 100 * 2);
    assertTrue(batched.fsyncs() * 4 < batched.records(), batched.toString());
    // every-record: one fsync per record (records include markers and checkpoints, each fsynced too)
    assertEquals(each.records(), each.fsyncs(), each.toString());
    assertTrue(metrics("batched").writeLatency().count() >= THREADS * 100 * 2);
  }

  @Test
  void everyHeldCallIsReleasedOnceOnTheReleaserEvenWhenAWholeBatchIsDecidedAtOnce() throws Exception {
    f.audit.enable(f.fileDevice("held", AuditDeviceConfig.FsyncPolicy.BATCHED));
    int calls = 4_000;
    AtomicIntegerArray written = new AtomicIntegerArray(calls);
    AtomicInteger refused = new AtomicInteger();
    Set<String> releaseThreads = ConcurrentHashMap.newKeySet();
    CountDownLatch all = new CountDownLatch(calls);
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int first = t;
        done.add(pool.submit(() -> {
          for (int i = first; i < calls; i += THREADS) {
            int n = i;
            f.audit.writeRequestHeld(AuditFixture.request(n), new AuditLog.Release() {
              @Override
              public void written() {
                releaseThreads.add(Thread.currentThread().getName());
                written.incrementAndGet(n);
                all.countDown();
              }

              @Override
              public void refused(dev.keywarden.failure.KeywardenException e) {
                refused.incrementAndGet();
                all.countDown();
              }
            });
          }
        }));
      }
      for (Future<?> d : done) {
        d.get();
      }
    } finally {
      pool.shutdown();
    }
    assertTrue(all.await(30, TimeUnit.SECONDS), "every held call hears its outcome");
    Thread.sleep(200); // a second release, were there one, would land by now
    assertEquals(0, refused.get());
    for (int i = 0; i < calls; i++) {
      assertEquals(1, written.get(i), "call " + i + " released exactly once");
    }
    assertEquals(Set.of("keywarden-audit-release"), releaseThreads, "only on the releaser thread");
    f.audit.disable("held");
  }
}
