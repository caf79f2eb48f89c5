package dev.keywarden.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.keywarden.testing.Generators;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The batched writer's group commit, on a sink that records every write and fsync: what queues during one fsync goes
 * into the next write, no record is told it is written before an fsync covers it, none is lost, repeated or
 * reordered, and a failed fsync tells no record of its batch that it was written.
 */
class GroupCommitTest {
  private static final KeyPair KEYS = ed25519();

  /** A file-like sink in memory: bytes written, and how many of them the last fsync made durable. */
  private static final class RecordingSink implements Sink {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final List<Integer> writeSizes = new CopyOnWriteArrayList<>();
    volatile int durable;
    volatile int forces;
    /** When set, each fsync waits for it (a slow disk the test controls). */
    volatile CountDownLatch gate;
    volatile CountDownLatch inForce = new CountDownLatch(1);
    /** The fsync with this number (1, 2, …) fails; 0: none does. */
    volatile int failForce;
    volatile Random slowness;
    boolean open;

    @Override
    public Opened open() {
      open = true;
      return new Opened(null, "");
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public boolean truncatedBehind() {
      return false;
    }

    @Override
    public synchronized void write(byte[] b, int length) {
      bytes.write(b, 0, length);
      writeSizes.add(length);
    }

    @Override
    public boolean force() throws IOException {
      inForce.countDown();
      CountDownLatch g = gate;
      if (g != null) {
        try {
          g.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          throw new IOException("interrupted", e);
        }
      }
      Random r = slowness;
      if (r != null && r.nextInt(4) == 0) {
        Thread.onSpinWait();
        try {
          Thread.sleep(0, r.nextInt(200_000));
        } catch (InterruptedException e) {
          throw new IOException("interrupted", e);
        }
      }
      int n = ++forces;
      if (n == failForce) {
        throw new IOException("injected fsync failure");
      }
      synchronized (this) {
        durable = bytes.size();
      }
      return true;
    }

    @Override
    public synchronized void afterFailedWrite() {
      byte[] all = bytes.toByteArray();
      bytes.reset();
      bytes.write(all, 0, durable);
    }

    @Override
    public void close() {
      open = false;
    }

    synchronized String durableText() {
      return new String(bytes.toByteArray(), 0, durable, UTF_8);
    }
  }

  private static Device device(RecordingSink sink) {
    return device(sink, AuditDeviceConfig.DEFAULT_FSYNC_INTERVAL);
  }

  private static Device device(RecordingSink sink, Duration fsyncInterval) {
    return device(sink, fsyncInterval, 100_000, (name, state) -> { }, Runnable::run);
  }

  private static Device device(RecordingSink sink, Duration fsyncInterval, int checkpointEvery,
      Device.ChainStore chains, java.util.concurrent.Executor saves) {
    return device(sink, fsyncInterval, checkpointEvery, chains, saves, new DeviceMetrics(), SIGNER);
  }

  private static final CheckpointSigner SIGNER = new CheckpointSigner() {
    @Override
    public PublicKey publicKey() {
      return KEYS.getPublic();
    }

    @Override
    public byte[] sign(byte[] message) {
      try {
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(KEYS.getPrivate());
        s.update(message);
        return s.sign();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }
  };

  private static Device device(RecordingSink sink, Duration fsyncInterval, int checkpointEvery,
      Device.ChainStore chains, java.util.concurrent.Executor saves, DeviceMetrics metrics, CheckpointSigner signer) {
    Device.Settings settings = new Device.Settings("node-1", Clock.systemUTC(), checkpointEvery, Duration.ofHours(1),
        chains, saves);
    AuditDeviceConfig config = AuditDeviceConfig.file("g", Path.of("/nonexistent/unused.log"),
        AuditDeviceConfig.FsyncPolicy.BATCHED).withFsyncInterval(fsyncInterval);
    Device d = new Device(config, new DeviceHmac(() -> AuditHmac.keyed(new byte[32])), sink, signer, settings,
        metrics, null, "enable");
    d.start();
    assertEquals(null, d.awaitOpened(Duration.ofSeconds(5)));
    return d;
  }

  private static void startAndJoin(List<Thread> threads) {
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private static byte[] body(String id) {
    return ("\"type\":\"request\",\"id\":\"" + id + "\"}").getBytes(UTF_8);
  }

  /** A record handed to the device, and what it was told (on the writer's thread). */
  private static final class Call implements Ticket.Outcome {
    final String id;
    final RecordingSink sink;
    final Ticket ticket;
    volatile Boolean written;
    volatile boolean durableWhenTold;

    Call(String id, RecordingSink sink) {
      this(id, sink, false);
    }

    /** A response record (nobody waits for it: it hears only when lost) when {@code response}. */
    Call(String id, RecordingSink sink, boolean response) {
      this.id = id;
      this.sink = sink;
      this.ticket = response ? new Ticket(List.of("g"), () -> written = false) : new Ticket(List.of("g"), this);
    }

    boolean response() {
      return !ticket.awaited();
    }

    @Override
    public void written() {
      durableWhenTold = sink.durableText().contains("\"id\":\"" + id + "\"");
      written = true;
    }

    @Override
    public void refused() {
      written = false;
    }
  }

  private static List<String> ids(String text) {
    List<String> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      int at = line.indexOf("\"id\":\"");
      if (at >= 0) {
        out.add(line.substring(at + 6, line.indexOf('"', at + 6)));
      }
    }
    return out;
  }

  @Test
  void whatQueuesDuringAnFsyncGoesIntoTheNextWrite() throws Exception {
    RecordingSink sink = new RecordingSink();
    Device d = device(sink);
    int opening = sink.writeSizes.size();
    sink.inForce = new CountDownLatch(1);
    CountDownLatch slowDisk = new CountDownLatch(1);
    sink.gate = slowDisk;
    Call a = new Call("a", sink);
    d.submit(body("a"), a.ticket, System.nanoTime());
    assertTrue(sink.inForce.await(5, TimeUnit.SECONDS), "a's fsync never started");
    // a's fsync hangs: b and c queue behind it, and nobody is told anything yet
    Call b = new Call("b", sink);
    Call c = new Call("c", sink);
    d.submit(body("b"), b.ticket, System.nanoTime());
    d.submit(body("c"), c.ticket, System.nanoTime());
    Thread.sleep(50);
    assertEquals(null, a.written);
    assertEquals(null, b.written);
    sink.gate = null;
    slowDisk.countDown(); // a's fsync finishes
    assertTrue(d.sync(System.nanoTime() + TimeUnit.SECONDS.toNanos(5)));
    assertEquals(Boolean.TRUE, a.written);
    assertEquals(Boolean.TRUE, b.written);
    assertEquals(Boolean.TRUE, c.written);
    assertTrue(a.durableWhenTold && b.durableWhenTold && c.durableWhenTold, "told before its fsync");
    // a alone in one write (no timer held it back), then b and c together in the next
    List<Integer> writes = sink.writeSizes.subList(opening, sink.writeSizes.size());
    assertEquals(2, writes.size(), writes.toString());
    assertEquals(List.of("a", "b", "c"), ids(sink.durableText()));
    d.awaitClosed(d.beginClose("test"), System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
    assertTrue(AuditVerifier.verify("g", sink.bytes.toByteArray(), KEYS.getPublic(), true).intact());
  }

  @Test
  void concurrentRecordsAreWrittenOnceInOrderAndOnlyToldAfterTheirFsync() {
    qt().withExamples(25).forAll(integers().between(1, 8), integers().between(1, 60), Generators.randoms())
        .checkAssert((threads, perThread, random) -> {
          RecordingSink sink = new RecordingSink();
          sink.slowness = random;
          Device d = device(sink);
          List<List<Call>> calls = new ArrayList<>();
          List<Thread> ts = new ArrayList<>();
          for (int t = 0; t < threads; t++) {
            List<Call> mine = new ArrayList<>();
            calls.add(mine);
            int tt = t;
            ts.add(new Thread(() -> {
              for (int i = 0; i < perThread; i++) {
                // requests and responses mixed, as calls make them; a batch of responses only may skip its fsync
                Call c = new Call(tt + "-" + i, sink, random.nextInt(3) == 0);
                mine.add(c);
                d.submit(body(c.id), c.ticket, System.nanoTime());
                if (i % 3 == 0) {
                  Thread.yield();
                }
              }
            }));
          }
          startAndJoin(ts);
          assertTrue(d.sync(System.nanoTime() + TimeUnit.SECONDS.toNanos(10)));
          // after a sync every record handed over before it is durable, responses included
          assertEquals(threads * perThread, ids(sink.durableText()).size(), "not durable after a sync");
          d.awaitClosed(d.beginClose("test"), System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
          List<String> written = ids(sink.durableText());
          assertEquals(threads * perThread, written.size(), "lost or repeated");
          assertEquals(written.size(), new java.util.HashSet<>(written).size(), "repeated");
          for (int t = 0; t < threads; t++) {
            String prefix = t + "-";
            List<String> mineInFile = written.stream().filter(id -> id.startsWith(prefix)).toList();
            List<String> sent = calls.get(t).stream().map(c -> c.id).toList();
            assertEquals(sent, mineInFile, "a thread's records out of order");
            for (Call c : calls.get(t)) {
              if (!c.response()) {
                assertEquals(Boolean.TRUE, c.written, c.id);
                assertTrue(c.durableWhenTold, c.id + " was told before its fsync");
              }
            }
          }
          assertTrue(AuditVerifier.verify("g", sink.bytes.toByteArray(), KEYS.getPublic(), true).intact());
        });
  }

  @Test
  void theFsyncIntervalWritesALoneRecordAtOnceAndGathersTheNextOnesIntoOneFsync() throws Exception {
    RecordingSink sink = new RecordingSink();
    long interval = TimeUnit.MILLISECONDS.toNanos(100);
    Device d = device(sink, Duration.ofNanos(interval));
    // a record after a quiet spell (longer than the interval) is written at once; three tries, so that a loaded
    // machine's scheduling delay cannot fail the test, while a writer that waited would fail all three
    long loneTook = Long.MAX_VALUE;
    int forces = 0;
    long t0 = 0;
    for (int attempt = 0; attempt < 3 && loneTook >= interval; attempt++) {
      Thread.sleep(TimeUnit.NANOSECONDS.toMillis(interval) + 20);
      forces = sink.forces;
      t0 = System.nanoTime();
      Call lone = new Call("lone" + attempt, sink);
      d.submit(body("lone" + attempt), lone.ticket, t0);
      while (lone.written == null && System.nanoTime() - t0 < 10 * interval) {
        Thread.sleep(0, 100_000);
      }
      loneTook = System.nanoTime() - t0;
      assertEquals(Boolean.TRUE, lone.written);
      assertEquals(forces + 1, sink.forces);
    }
    assertTrue(loneTook < interval, "a record after a quiet spell waited " + loneTook / 1_000_000 + " ms");
    // records arriving within the interval wait for it to end, then share one write and one fsync
    List<Call> next = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      Call c = new Call("n" + i, sink);
      next.add(c);
      d.submit(body("n" + i), c.ticket, System.nanoTime());
    }
    assertTrue(d.sync(System.nanoTime() + TimeUnit.SECONDS.toNanos(5)));
    long took = System.nanoTime() - t0;
    for (Call c : next) {
      assertEquals(Boolean.TRUE, c.written, c.id);
      assertTrue(c.durableWhenTold, "told before its fsync");
    }
    assertEquals(forces + 2, sink.forces, "one fsync for the twenty records of one interval");
    assertTrue(took >= interval * 9 / 10, "the second fsync came " + took / 1_000_000 + " ms after the first");
    d.awaitClosed(d.beginClose("test"), System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
    assertTrue(AuditVerifier.verify("g", sink.bytes.toByteArray(), KEYS.getPublic(), true).intact());
  }

  @Test
  void aCheckpointUnderTrafficSharesTheWriteAndFsyncOfItsRecordsAndItsChainIsStoredOffTheWriter() {
    qt().withExamples(15).forAll(integers().between(1, 6), integers().between(2, 25), integers().between(1, 60))
        .checkAssert((threads, every, perThread) -> {
          RecordingSink sink = new RecordingSink();
          List<ChainState> saved = new CopyOnWriteArrayList<>();
          List<String> durableAtSave = new CopyOnWriteArrayList<>();
          java.util.concurrent.ExecutorService saves = java.util.concurrent.Executors.newSingleThreadExecutor();
          Device d = device(sink, AuditDeviceConfig.DEFAULT_FSYNC_INTERVAL, every, (name, state) -> {
            saved.add(state);
            durableAtSave.add(sink.durableText());
          }, saves);
          List<Thread> ts = new ArrayList<>();
          for (int t = 0; t < threads; t++) {
            int tt = t;
            ts.add(new Thread(() -> {
              for (int i = 0; i < perThread; i++) {
                Call c = new Call(tt + "-" + i, sink);
                d.submit(body(c.id), c.ticket, System.nanoTime());
              }
            }));
          }
          startAndJoin(ts);
          assertTrue(d.sync(System.nanoTime() + TimeUnit.SECONDS.toNanos(10)));
          int beforeClose = sink.writeSizes.size();
          d.awaitClosed(d.beginClose("test"), System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
          saves.shutdown();
          byte[] file = sink.bytes.toByteArray();
          assertTrue(AuditVerifier.verify("g", file, KEYS.getPublic(), true).intact());
          // no write before the close is a checkpoint alone: each shares the write (and fsync) of its records
          List<String> lines = new ArrayList<>();
          int at = 0;
          int checkpoints = 0;
          for (int w = 0; w < sink.writeSizes.size(); w++) {
            String text = new String(file, at, sink.writeSizes.get(w), UTF_8);
            at += sink.writeSizes.get(w);
            boolean records = false;
            for (String line : text.split("\n")) {
              lines.add(line);
              boolean checkpoint = line.contains("\"type\":\"checkpoint\"");
              records |= !checkpoint;
              checkpoints += checkpoint && w < beforeClose ? 1 : 0;
            }
            assertTrue(records || w >= beforeClose, "write " + w + " holds only a checkpoint: " + text);
          }
          assertTrue(checkpoints >= threads * perThread / (every + 2), checkpoints + " checkpoints");
          // each stored chain state is the chain just after a checkpoint already fsynced, in order, and the last
          // one is the final checkpoint's
          long seq = -1;
          for (int i = 0; i < saved.size(); i++) {
            ChainState s = saved.get(i);
            assertTrue(s.seq() > seq, "stored out of order");
            seq = s.seq();
            String line = lines.get((int) s.seq() - 1);
            assertTrue(line.contains("\"type\":\"checkpoint\""), "stored after a non-checkpoint: " + line);
            assertTrue(java.util.Arrays.equals(Lines.sha256(line.getBytes(UTF_8)), s.hash()));
            assertTrue(durableAtSave.get(i).contains(line), "stored before its checkpoint was fsynced");
          }
          assertEquals(lines.size(), saved.get(saved.size() - 1).seq(), "the final checkpoint's state not stored");
        });
  }

  @Test
  void aCheckpointThatCannotBeSignedLeavesItsRecordsWrittenAndIsRetriedLater() throws Exception {
    RecordingSink sink = new RecordingSink();
    DeviceMetrics metrics = new DeviceMetrics();
    List<ChainState> saved = new CopyOnWriteArrayList<>();
    CheckpointSigner lost = new CheckpointSigner() {
      @Override
      public PublicKey publicKey() {
        return KEYS.getPublic();
      }

      @Override
      public byte[] sign(byte[] message) {
        throw dev.keywarden.failure.KeywardenException.unavailable("the HSM is gone", null);
      }
    };
    Device d = device(sink, AuditDeviceConfig.DEFAULT_FSYNC_INTERVAL, 3, (name, state) -> saved.add(state),
        Runnable::run, metrics, lost);
    List<Call> calls = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      Call c = new Call("r" + i, sink);
      calls.add(c);
      d.submit(body(c.id), c.ticket, System.nanoTime());
    }
    assertTrue(d.sync(System.nanoTime() + TimeUnit.SECONDS.toNanos(5)));
    for (Call c : calls) {
      assertEquals(Boolean.TRUE, c.written, c.id);
      assertTrue(c.durableWhenTold, c.id + " was told before its fsync");
    }
    assertEquals(10, ids(sink.durableText()).size());
    assertTrue(!sink.durableText().contains("\"type\":\"checkpoint\""));
    // one failure, then no new try for 5 s (not one per batch against a lost HSM)
    assertEquals(1, metrics.snapshot("g", 0).checkpointFailures());
    assertTrue(saved.isEmpty());
    d.awaitClosed(d.beginClose("test"), System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
    assertTrue(AuditVerifier.verify("g", sink.bytes.toByteArray(), KEYS.getPublic(), false).intact());
  }

  @Test
  void aResponseBatchRidesOnTheNextFsyncOnlyWhenMoreIsQueued() throws Exception {
    RecordingSink sink = new RecordingSink();
    Device d = device(sink);
    int forces = sink.forces;
    // alone: a response is written and fsynced at once
    Call lone = new Call("lone", sink, true);
    d.submit(body("lone"), lone.ticket, System.nanoTime());
    assertTrue(d.sync(System.nanoTime() + TimeUnit.SECONDS.toNanos(5)));
    assertEquals(forces + 1, sink.forces);
    assertTrue(ids(sink.durableText()).contains("lone"));
    // a response queued ahead of a request during a slow fsync: one write each, one fsync for both, and the
    // request told only after it
    CountDownLatch slowDisk = new CountDownLatch(1);
    sink.inForce = new CountDownLatch(1);
    sink.gate = slowDisk;
    Call first = new Call("first", sink);
    d.submit(body("first"), first.ticket, System.nanoTime());
    assertTrue(sink.inForce.await(5, TimeUnit.SECONDS));
    Call response = new Call("response", sink, true);
    Call request = new Call("request", sink);
    d.submit(body("response"), response.ticket, System.nanoTime());
    Thread.sleep(20);
    int writes = sink.writeSizes.size();
    int before = sink.forces;
    sink.gate = null;
    slowDisk.countDown();
    // the response batch is taken alone; the request arrives while it is written, or just after
    d.submit(body("request"), request.ticket, System.nanoTime());
    assertTrue(d.sync(System.nanoTime() + TimeUnit.SECONDS.toNanos(5)));
    assertEquals(Boolean.TRUE, request.written);
    assertTrue(request.durableWhenTold, "told before its fsync");
    assertEquals(List.of("lone", "first", "response", "request"), ids(sink.durableText()));
    assertTrue(sink.forces - before <= 3, "fsyncs: " + (sink.forces - before) + " after " + (sink.writeSizes.size()
        - writes) + " writes");
    d.awaitClosed(d.beginClose("test"), System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
    assertTrue(AuditVerifier.verify("g", sink.bytes.toByteArray(), KEYS.getPublic(), true).intact());
  }

  @Test
  void aFailedFsyncTellsNoRecordOfItsBatchThatItWasWritten() {
    qt().withExamples(20).forAll(integers().between(1, 12), integers().between(2, 80), Generators.randoms())
        .checkAssert((failAt, records, random) -> {
          RecordingSink sink = new RecordingSink();
          sink.slowness = random;
          Device d = device(sink);
          sink.failForce = sink.forces + failAt;
          List<Call> calls = Collections.synchronizedList(new ArrayList<>());
          Thread[] ts = new Thread[2];
          AtomicInteger next = new AtomicInteger();
          for (int t = 0; t < ts.length; t++) {
            ts[t] = new Thread(() -> {
              int i;
              while ((i = next.getAndIncrement()) < records) {
                Call c = new Call("r" + i, sink);
                calls.add(c);
                d.submit(body(c.id), c.ticket, System.nanoTime());
              }
            });
            ts[t].start();
          }
          for (Thread t : ts) {
            try {
              t.join();
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
          }
          d.sync(System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
          d.awaitClosed(d.beginClose("test"), System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
          List<String> durable = ids(sink.durableText());
          for (Call c : calls) {
            if (Boolean.TRUE.equals(c.written)) {
              assertTrue(c.durableWhenTold, c.id + " was told before its fsync");
              assertTrue(durable.contains(c.id), c.id + " told written but not in the file");
            }
          }
          assertEquals(durable.size(), new java.util.HashSet<>(durable).size(), "repeated");
          // a device still failing closes without a final checkpoint: the chain holds, the file is not closed
          assertTrue(AuditVerifier.verify("g", sink.bytes.toByteArray(), KEYS.getPublic(), false).intact());
        });
  }

  private static KeyPair ed25519() {
    try {
      return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
