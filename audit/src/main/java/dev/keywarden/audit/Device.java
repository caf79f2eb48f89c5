package dev.keywarden.audit;

import dev.keywarden.failure.KeywardenException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One open audit device: a bounded queue and one writer thread, the only one touching the sink and the chain. The
 * writer takes whatever is queued (up to {@link #MAX_BATCH}) and writes it with one write and one fsync (batched), or
 * each record with its own (every-record); a call is told its record is written only after that. While one write and
 * fsync run, the next records queue up and go together into the next: a group commit with no timer, so a lone call
 * waits for its own write and fsync only, and under load each fsync carries what arrived during the one before.
 * Checkpoints are written by the writer, every {@code checkpointEvery} records or {@code checkpointInterval}: under
 * traffic at the end of the write whose records make one due, so it shares their write and fsync, and the chain
 * state after it is stored off the writer; so a checkpoint holds up the records behind it only for its signature.
 *
 * <p>Failure: a write that has not finished within the timeout makes the device STUCK, and while it is, new records
 * are refused at once instead of queueing behind it; it is HEALTHY again as soon as that write finishes. A write or
 * connect that fails makes it FAILING: new records are refused until the next retry (250 ms, doubling to 2 s), when the
 * writer itself tries again by writing a "resumed" (file) or "continues" (socket, reconnected) marker.
 */
final class Device {
  private static final Logger log = LoggerFactory.getLogger(Device.class);
  static final int MAX_BATCH = 1024;
  /** Queue slots kept for control items (reopen, close) beyond the records' capacity. */
  private static final int CONTROL_SLOTS = 16;
  private static final long FIRST_BACKOFF = TimeUnit.MILLISECONDS.toNanos(250);
  private static final long MAX_BACKOFF = TimeUnit.SECONDS.toNanos(2);
  private static final long CHECKPOINT_RETRY = TimeUnit.SECONDS.toNanos(5);

  /**
   * What a device needs from the log that opens it. {@code saves} runs the storage writes of chain states after
   * checkpoints, off the writer.
   */
  record Settings(String node, Clock clock, int checkpointEvery, Duration checkpointInterval, ChainStore chains,
                  Executor saves) {}

  /** Where a device's chain state is kept between runs (after every checkpoint and at close). */
  interface ChainStore {
    void save(String device, ChainState state);
  }

  private enum Kind { RECORD, REOPEN, SYNC, CLOSE }

  private static final class Item {
    final Kind kind;
    final byte[] body;
    final Ticket ticket;
    final long enqueued;
    final String reason;
    /** For a control item: when the writer did it (null for a record: its ticket hears instead). */
    final CompletableFuture<Void> done;

    Item(Kind kind, byte[] body, Ticket ticket, long enqueued, String reason) {
      this.kind = kind;
      this.body = body;
      this.ticket = ticket;
      this.enqueued = enqueued;
      this.reason = reason;
      this.done = kind == Kind.RECORD ? null : new CompletableFuture<>();
    }
  }

  private record Marker(String type, String reason) {}

  /** A chain state to store, numbered in the order the writer asked: an older one never overwrites a newer. */
  private record Save(long number, ChainState state) {}

  final AuditDeviceConfig config;
  /** The HMAC of secrets under this device's audit key, used by the calling threads. */
  final DeviceHmac hmac;
  private final Sink sink;
  private final CheckpointSigner signer;
  private final Settings settings;
  private final DeviceMetrics metrics;
  private final ArrayBlockingQueue<Item> queue;
  private final Thread writer;
  private final long timeoutNanos;
  private final long pollMillis;
  /** {@link AuditDeviceConfig#fsyncInterval()} in nanoseconds. */
  private final long intervalNanos;
  private final CompletableFuture<String> opened = new CompletableFuture<>();

  // writer thread only
  private ChainState chain;
  private String openReason;
  private Marker pendingMarker;
  private long sinceCheckpoint;
  private long lastCheckpointNanos = System.nanoTime();
  private long nextCheckpointTry;
  /** When the last fsync began. */
  private long lastForce = System.nanoTime() - TimeUnit.DAYS.toNanos(1);
  private long backoff;
  /**
   * Records written whose fsync is the next write's: a batch nobody waits for (responses only) when more is queued
   * already. They hear they were written only after that fsync.
   */
  private final List<Item> unsynced = new ArrayList<>();
  private final List<Item> records = new ArrayList<>();
  /** The lines of one write, made in place; the running chain hash while they are made. */
  private final JsonBytes out = new JsonBytes();
  private final java.security.MessageDigest sha256 = Lines.sha256();
  private final byte[] hash = new byte[ChainState.HASH_BYTES];
  /** A chain state after a durable checkpoint, waiting for {@link Settings#saves} to store it ({@link #saveLater}). */
  private final AtomicReference<Save> toSave = new AtomicReference<>();
  private final Object saveLock = new Object();
  /** The writer's count of saves asked for; the newest stored one, and whether saving ended (under saveLock). */
  private long saves;
  private long savedUpTo;
  private boolean savesClosed;

  // shared
  private final Object stateLock = new Object();
  private volatile long busySince;
  private volatile AuditHealth.State state = AuditHealth.State.HEALTHY;
  private volatile String reason = "";
  private volatile Instant since;
  private volatile long retryAt;
  private volatile boolean closing;

  /**
   * A device not yet started. {@code known} is where its chain stood when last closed (null: a new chain);
   * {@code openReason} goes into the first marker ("enable", "unseal", …).
   */
  Device(AuditDeviceConfig config, DeviceHmac hmac, Sink sink, CheckpointSigner signer, Settings settings,
      DeviceMetrics metrics, ChainState known, String openReason) {
    this.config = config;
    this.hmac = hmac;
    this.sink = sink;
    this.signer = signer;
    this.settings = settings;
    this.metrics = metrics;
    this.chain = known;
    this.openReason = openReason;
    this.timeoutNanos = config.timeout().toNanos();
    this.intervalNanos = config.fsyncInterval().toNanos();
    this.queue = new ArrayBlockingQueue<>(config.queueCapacity() + CONTROL_SLOTS);
    this.pollMillis = Math.max(10, Math.min(250, settings.checkpointInterval().toMillis()));
    this.since = settings.clock().instant();
    this.writer = new Thread(this::run, "keywarden-audit-" + config.name());
    this.writer.setDaemon(true);
  }

  String name() {
    return config.name();
  }

  long timeoutNanos() {
    return timeoutNanos;
  }

  /** Starts the writer, which opens the sink and writes the opening marker at once. */
  void start() {
    writer.start();
  }

  /** Null once the first open worked, else why it did not; waits at most {@code wait}. */
  String awaitOpened(Duration wait) {
    try {
      return opened.get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      return "opening did not finish within " + wait.toMillis() + " ms";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    } catch (java.util.concurrent.ExecutionException e) {
      return "failed";
    }
  }

  /**
   * Hands a record to the writer; the ticket hears the outcome. Refused at once (the ticket told why) while the
   * device is stuck, failing, full or closing.
   */
  void submit(byte[] body, Ticket ticket, long now) {
    String refusal = refusal(now);
    if (refusal == null && !offerRecord(new Item(Kind.RECORD, body, ticket, now, ""))) {
      refusal = "queue full (" + config.queueCapacity() + " records)";
    }
    if (refusal != null) {
      metrics.failures.increment();
      ticket.done(name(), refusal);
    }
  }

  private boolean offerRecord(Item item) {
    return queue.remainingCapacity() > CONTROL_SLOTS && queue.offer(item);
  }

  private String refusal(long now) {
    if (closing) {
      return "closed";
    }
    long busy = busySince;
    if (busy != 0 && now - busy > timeoutNanos) {
      markStuck(now - busy);
      return "stuck";
    }
    if (state == AuditHealth.State.FAILING && now - retryAt < 0) {
      return "failing: " + reason;
    }
    return null;
  }

  /** Counts a record whose call stopped waiting for this device. */
  void timedOut() {
    metrics.failures.increment();
    long busy = busySince;
    if (busy != 0) {
      long now = System.nanoTime();
      if (now - busy > timeoutNanos) {
        markStuck(now - busy);
      }
    }
  }

  /** Closes the current file and opens the path again (after logrotate renamed it); waits up to the timeout. */
  boolean reopen() {
    Item item = new Item(Kind.REOPEN, null, null, System.nanoTime(), "rotate");
    if (closing || !queue.offer(item)) {
      return false;
    }
    try {
      item.done.get(timeoutNanos, TimeUnit.NANOSECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** Waits until the records queued before now were written or failed, until {@code deadlineNanos}. */
  boolean sync(long deadlineNanos) {
    Item item = new Item(Kind.SYNC, null, null, System.nanoTime(), "sync");
    if (closing || !queue.offer(item)) {
      return false;
    }
    try {
      item.done.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** Starts closing: records are refused from now on; the writer writes a final checkpoint and stops. */
  Object beginClose(String why) {
    closing = true;
    hmac.close();
    Item item = new Item(Kind.CLOSE, null, null, System.nanoTime(), why);
    if (!queue.offer(item)) {
      writer.interrupt();
    }
    LockSupport.unpark(writer); // a writer waiting out its fsync interval goes on at once
    return item;
  }

  /** Waits for the close begun by {@link #beginClose} until {@code deadlineNanos}; then stops the writer. */
  void awaitClosed(Object handle, long deadlineNanos) {
    Item item = (Item) handle;
    try {
      item.done.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (Exception e) {
      // stuck in a write: interrupting closes the file or socket under it
      log.warn("audit device {} did not close within its timeout: stopping its writer", name());
      writer.interrupt();
    }
    failQueued("closed");
  }

  AuditHealth.DeviceHealth health() {
    AuditHealth.State s = state;
    String why = reason;
    long busy = busySince;
    if (s == AuditHealth.State.HEALTHY && busy != 0 && System.nanoTime() - busy > timeoutNanos) {
      s = AuditHealth.State.STUCK;
      why = "a write has not finished for " + (System.nanoTime() - busy) / 1_000_000 + " ms";
    }
    if (closing) {
      s = AuditHealth.State.CLOSED;
    }
    return new AuditHealth.DeviceHealth(name(), s, why, since, Math.max(0, queue.size()));
  }

  int queueDepth() {
    return queue.size();
  }

  // ---- the writer thread

  private void run() {
    write(List.of());
    opened.complete(state == AuditHealth.State.HEALTHY ? null : reason);
    List<Item> batch = new ArrayList<>();
    while (true) {
      Item first;
      try {
        first = queue.poll(pollMillis, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        if (closing) {
          break;
        }
        continue;
      }
      if (first != null) {
        batch.add(first);
        queue.drainTo(batch, MAX_BATCH - 1);
        if (intervalNanos > 0) {
          gather(batch);
        }
      }
      boolean stop = process(batch);
      batch.clear();
      if (stop) {
        break;
      }
      idle();
    }
    sink.close();
    closeSaves();
  }

  /**
   * A batched file's fsync interval: when the last fsync began less than that long ago, the writer waits out the rest
   * of it and takes what queued meanwhile into the same write, so under load it fsyncs at most once per interval (each
   * fsync costs ~0.1 ms of kernel CPU on a virtual disk: at 4,000 a second, a fifth of a core) while a call after a
   * quiet spell is written at once. Control items wait too; nothing is written out of order.
   */
  private void gather(List<Item> batch) {
    long wait = lastForce + intervalNanos - System.nanoTime();
    while (wait > 0 && batch.size() < MAX_BATCH && !closing) {
      LockSupport.parkNanos(wait);
      wait = lastForce + intervalNanos - System.nanoTime();
    }
    queue.drainTo(batch, MAX_BATCH - batch.size());
  }

  /** Writes the batch in order; returns true when it closed the device. */
  private boolean process(List<Item> batch) {
    records.clear();
    for (int i = 0; i < batch.size(); i++) {
      Item item = batch.get(i);
      if (item.kind == Kind.RECORD) {
        if (item.ticket.claim()) {
          records.add(item);
        }
        continue;
      }
      flush(records);
      records.clear();
      syncUnsynced();
      if (item.kind == Kind.SYNC) {
        item.done.complete(null);
      } else if (item.kind == Kind.REOPEN) {
        checkpoint("rotate", true);
        sink.close();
        openReason = "reopen";
        write(List.of());
        item.done.complete(null);
      } else {
        checkpoint(item.reason, true);
        sink.close();
        closeSaves();
        item.done.complete(null);
        for (Item rest : batch.subList(i + 1, batch.size())) {
          fail(rest, "closed");
        }
        return true;
      }
    }
    flush(records);
    return false;
  }

  /** Writes records in runs that stop at each due checkpoint (one record per run under every-record). */
  private void flush(List<Item> records) {
    int i = 0;
    while (i < records.size()) {
      int room = (int) Math.max(1, settings.checkpointEvery() - sinceCheckpoint);
      int n = config.fsync() == AuditDeviceConfig.FsyncPolicy.EVERY_RECORD && config.type()
          == AuditDeviceConfig.Type.FILE ? 1 : Math.min(room, records.size() - i);
      List<Item> run = records.subList(i, i + n);
      i += n;
      if (!write(run)) {
        for (Item rest : records.subList(i, records.size())) {
          fail(rest, "failing");
        }
        return;
      }
      maybeCheckpoint();
    }
  }

  private void idle() {
    if (queue.isEmpty()) {
      syncUnsynced();
    }
    maybeCheckpoint();
    if (state == AuditHealth.State.FAILING && System.nanoTime() - retryAt >= 0) {
      write(List.of());
    }
  }

  /**
   * One write (and fsync) of the pending marker, if any, and {@code items}; opens the sink first when it is closed.
   * Returns whether it worked; either way every item's ticket hears it, after the fsync that made it durable. A
   * batched file's batch that nobody waits for (response records only) is not fsynced on its own when more records
   * are queued already: it rides on the next write's fsync (once; the next write always fsyncs), which saves an
   * fsync — about 0.1 ms of kernel CPU — per cycle under load, and costs nobody a wait.
   */
  private boolean write(List<Item> items) {
    busySince = System.nanoTime();
    try {
      if (!sink.isOpen()) {
        Sink.Opened o = sink.open();
        String type;
        if (o.tail() != null) {
          chain = o.tail();
          type = "open";
        } else if (chain != null) {
          type = "continues";
        } else {
          chain = ChainState.NEW;
          type = "start";
        }
        String why = openReason;
        if (!o.note().isEmpty()) {
          why = why + "; " + o.note();
        }
        if (pendingMarker != null && !pendingMarker.reason().isEmpty()) {
          why = why + "; " + pendingMarker.reason();
        }
        pendingMarker = new Marker(type, why);
      } else if (sink.truncatedBehind()) {
        pendingMarker = new Marker("continues", "copy-truncate: the file was emptied behind the writer");
      }
      if (pendingMarker == null && items.isEmpty()) {
        return true;
      }
      ChainState c = chain;
      long seq = c.seq();
      c.copyHash(hash);
      out.clear();
      int lines = 0;
      if (pendingMarker != null) {
        Lines.append(out, seq++, hash, RecordFormat.marker(pendingMarker.type(), settings.clock().instant(),
            settings.node(), name(), pendingMarker.reason()), sha256);
        lines++;
      }
      for (int i = 0; i < items.size(); i++) {
        Lines.append(out, seq++, hash, items.get(i).body, sha256);
        lines++;
      }
      boolean signed = !items.isEmpty() && checkpointDue(sinceCheckpoint + lines)
          && appendCheckpoint(seq, sinceCheckpoint + lines);
      if (signed) {
        seq++;
        lines++;
      }
      boolean ride = !signed && pendingMarker == null && unsynced.isEmpty() && mayRide() && !awaited(items)
          && !queue.isEmpty();
      sink.write(out.array(), out.length());
      metrics.writes.increment();
      if (!ride && force()) {
        metrics.fsyncs.increment();
      }
      chain = new ChainState(seq, hash);
      pendingMarker = null;
      metrics.records.add(lines);
      if (signed) {
        sinceCheckpoint = 0;
        lastCheckpointNanos = System.nanoTime();
        metrics.checkpoints.increment();
      } else {
        sinceCheckpoint += lines;
      }
      if (ride) {
        unsynced.addAll(items);
      } else {
        durable(items);
      }
      healthy();
      if (signed) {
        saveLater(chain);
      }
      return true;
    } catch (IOException | RuntimeException e) {
      sink.afterFailedWrite();
      failing(e);
      for (Item item : items) {
        fail(item, "failing: " + describe(e));
      }
      failUnsynced(e);
      return false;
    } finally {
      busySince = 0;
    }
  }

  /** Whether {@code records} written since the last checkpoint (or the time since it) make the next one due. */
  private boolean checkpointDue(long records) {
    long now = System.nanoTime();
    return now - nextCheckpointTry >= 0 && (records >= settings.checkpointEvery()
        || now - lastCheckpointNanos >= settings.checkpointInterval().toNanos());
  }

  /**
   * Signs a checkpoint after the line numbered {@code seq} whose hash is in {@link #hash} and appends it to
   * {@link #out}, moving {@link #hash} on; false (nothing appended; retried in 5 s) when it cannot be signed.
   */
  private boolean appendCheckpoint(long seq, long records) {
    try {
      Lines.Line l = Lines.checkpoint(new ChainState(seq, hash), signer, settings.clock().instant(), settings.node(),
          name(), records, false, records >= settings.checkpointEvery() ? "count" : "interval");
      out.raw(l.bytes(), 0, l.bytes().length);
      out.raw((byte) '\n');
      l.next().copyHash(hash);
      return true;
    } catch (RuntimeException e) { // the records go out without it: an HSM's failure must not fail them
      checkpointUnsigned(e);
      return false;
    }
  }

  private void checkpointUnsigned(RuntimeException e) {
    metrics.checkpointFailures.increment();
    nextCheckpointTry = System.nanoTime() + CHECKPOINT_RETRY;
    log.warn("audit device {}: a checkpoint could not be signed ({}); retrying in 5 s", name(),
        e instanceof KeywardenException ? e.getMessage() : e.getClass().getSimpleName());
  }

  /** An fsync (when the sink has one to do), noting when it began for the fsync interval. */
  private boolean force() throws IOException {
    lastForce = System.nanoTime();
    return sink.force();
  }

  private boolean mayRide() {
    return config.type() == AuditDeviceConfig.Type.FILE && config.fsync() == AuditDeviceConfig.FsyncPolicy.BATCHED;
  }

  private static boolean awaited(List<Item> items) {
    for (int i = 0; i < items.size(); i++) {
      if (items.get(i).ticket.awaited()) {
        return true;
      }
    }
    return false;
  }

  /** An fsync covered {@code items} (and whatever rode on it): each ticket hears it was written. */
  private void durable(List<Item> items) {
    long now = System.nanoTime();
    for (int i = 0; i < unsynced.size(); i++) {
      Item item = unsynced.get(i);
      metrics.latency(now - item.enqueued);
      item.ticket.done(name(), null);
    }
    unsynced.clear();
    for (int i = 0; i < items.size(); i++) {
      Item item = items.get(i);
      metrics.latency(now - item.enqueued);
      item.ticket.done(name(), null);
    }
  }

  /** Makes the records written without their own fsync durable (before a sync, reopen, close or idle wait). */
  private void syncUnsynced() {
    if (unsynced.isEmpty()) {
      return;
    }
    busySince = System.nanoTime();
    try {
      if (force()) {
        metrics.fsyncs.increment();
      }
      durable(List.of());
    } catch (IOException | RuntimeException e) {
      sink.afterFailedWrite();
      failing(e);
      failUnsynced(e);
    } finally {
      busySince = 0;
    }
  }

  private void failUnsynced(Exception e) {
    for (Item item : unsynced) {
      fail(item, "failing: " + describe(e));
    }
    unsynced.clear();
  }

  private void fail(Item item, String why) {
    if (item.kind == Kind.RECORD) {
      metrics.failures.increment();
      item.ticket.done(name(), why);
    } else {
      item.done.complete(null);
    }
  }

  private void failQueued(String why) {
    Item item;
    while ((item = queue.poll()) != null) {
      fail(item, why);
    }
  }

  private void maybeCheckpoint() {
    long now = System.nanoTime();
    if (sinceCheckpoint >= settings.checkpointEvery()) {
      checkpoint("count", false);
    } else if (sinceCheckpoint > 0 && now - lastCheckpointNanos >= settings.checkpointInterval().toNanos()) {
      checkpoint("interval", false);
    }
  }

  /** Signs and writes a checkpoint (a final one closes the file); a failure is counted and logged. */
  private void checkpoint(String why, boolean last) {
    long now = System.nanoTime();
    if (chain == null || !sink.isOpen() || pendingMarker != null || (sinceCheckpoint == 0 && !last)
        || (!last && now - nextCheckpointTry < 0)) {
      return;
    }
    busySince = now;
    try {
      if (sink.truncatedBehind()) {
        return;
      }
      Lines.Line l = Lines.checkpoint(chain, signer, settings.clock().instant(), settings.node(), name(),
          sinceCheckpoint, last, why);
      byte[] bytes = new byte[l.bytes().length + 1];
      System.arraycopy(l.bytes(), 0, bytes, 0, l.bytes().length);
      bytes[bytes.length - 1] = '\n';
      sink.write(bytes);
      metrics.writes.increment();
      if (force()) {
        metrics.fsyncs.increment();
      }
      chain = l.next();
      sinceCheckpoint = 0;
      lastCheckpointNanos = System.nanoTime();
      metrics.records.increment();
      metrics.checkpoints.increment();
      durable(List.of());
      healthy();
      if (last) {
        saveNow();
      } else {
        saveLater(chain);
      }
    } catch (KeywardenException e) {
      checkpointUnsigned(e);
    } catch (IOException | RuntimeException e) {
      metrics.checkpointFailures.increment();
      sink.afterFailedWrite();
      failing(e);
      failUnsynced(e);
    } finally {
      busySince = 0;
    }
  }

  /**
   * Stores {@code state} (the chain after a durable checkpoint) off the writer: a storage write takes milliseconds,
   * which every record behind it would wait. States asked for while one is being stored collapse into the newest.
   */
  private void saveLater(ChainState state) {
    if (toSave.getAndSet(new Save(++saves, state)) == null) {
      try {
        settings.saves().execute(this::storeQueued);
      } catch (RejectedExecutionException shuttingDown) {
        storeQueued();
      }
    }
  }

  /** Stores the chain now, after a final checkpoint (close, rotation), and whatever was still queued before it. */
  private void saveNow() {
    storeQueued();
    store(new Save(++saves, chain));
  }

  /** The device is closing: stores what is queued, and nothing after that. */
  private void closeSaves() {
    storeQueued();
    synchronized (saveLock) {
      savesClosed = true;
    }
  }

  private void storeQueued() {
    Save s = toSave.getAndSet(null);
    if (s != null) {
      store(s);
    }
  }

  private void store(Save s) {
    synchronized (saveLock) {
      if (savesClosed || s.number() <= savedUpTo) {
        return;
      }
      try {
        settings.chains().save(name(), s.state());
        savedUpTo = s.number();
      } catch (RuntimeException e) {
        log.warn("audit device {}: its chain state could not be stored ({})", name(), e.getClass().getSimpleName());
      }
    }
  }

  // ---- state

  private void healthy() {
    backoff = 0;
    synchronized (stateLock) {
      if (state != AuditHealth.State.HEALTHY) {
        log.info("audit device {} writes again (it was {} since {}: {})", name(), state, since, reason);
        state = AuditHealth.State.HEALTHY;
        reason = "";
        since = settings.clock().instant();
      }
    }
  }

  private void failing(Exception e) {
    String why = describe(e);
    backoff = backoff == 0 ? FIRST_BACKOFF : Math.min(MAX_BACKOFF, backoff * 2);
    retryAt = System.nanoTime() + backoff;
    if (pendingMarker == null && sink.isOpen()) {
      pendingMarker = new Marker("resumed", "writes failed: " + why);
    } else if (!sink.isOpen() && chain != null) {
      openReason = "reconnect after: " + why;
    }
    synchronized (stateLock) {
      if (state != AuditHealth.State.FAILING) {
        log.warn("audit device {} ({}) is failing: {}; records are refused until it writes again", name(),
            config.target(), why);
        state = AuditHealth.State.FAILING;
        since = settings.clock().instant();
      }
      reason = why;
    }
  }

  private void markStuck(long busyNanos) {
    synchronized (stateLock) {
      if (state == AuditHealth.State.HEALTHY) {
        state = AuditHealth.State.STUCK;
        reason = "a write has not finished for " + busyNanos / 1_000_000 + " ms (a full disk or pipe, or a peer "
            + "that stopped reading)";
        since = settings.clock().instant();
        log.warn("audit device {} ({}) is stuck: {}; records are refused until it finishes", name(),
            config.target(), reason);
      }
    }
  }

  /** Why an I/O failed, in words safe for health output and logs (OS reasons, never library internals). */
  static String describe(Throwable e) {
    if (e instanceof NoSuchFileException) {
      return "no such file or directory";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileSink.NotAnAuditFile) {
      return e.getMessage();
    }
    if (e instanceof FileSystemException fs && fs.getReason() != null) {
      return fs.getReason();
    }
    if (e instanceof ConnectException) {
      return "connection refused";
    }
    if (e instanceof SocketTimeoutException) {
      return "connect timed out";
    }
    if (e instanceof ClosedByInterruptException) {
      return "closed";
    }
    if (e instanceof IOException && e.getMessage() != null) {
      return e.getMessage();
    }
    return e.getClass().getSimpleName();
  }
}
