package dev.keywarden.audit;

import dev.keywarden.encoding.Pem;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.storage.CacheFeed;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredJson;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.Unsealed;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit log: the gate calls {@link #writeRequest} before a call's engine runs and {@link #writeResponse} after it;
 * operators enable, disable, list and reopen devices and hash values; the server exports {@link #health()},
 * {@link #metrics()} and {@link #publicKey()}.
 *
 * <p>Fail closed: with devices enabled, a request record must be written by at least one of them before the engine
 * runs, or {@link #writeRequest} throws UNAVAILABLE "audit log unavailable" and the call must not run. No device
 * blocks a call beyond its timeout, and a device known to be stuck or failing refuses at once. A response record no
 * device could write is logged and counted, never thrown. With no device enabled (the default) nothing is written and
 * {@link #writeRequest} costs one volatile read.
 *
 * <p>Devices live only while the core is unsealed (their HMAC keys are wrapped by the KEK, checkpoints are signed in
 * the HSM): an unseal reopens every enabled device, a seal closes each with a final signed checkpoint. While sealed
 * nothing is audited; the gate refuses every call but the open ones then.
 */
public final class AuditLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

  private final Core core;
  private final AuditOptions options;
  private final Object lock = new Object();
  private final Map<String, DeviceMetrics> metrics = new ConcurrentHashMap<>();
  private final LongAdder requestsRefused = new LongAdder();
  private final LongAdder responsesLost = new LongAdder();
  private final String idPrefix;
  private final AtomicLong ids = new AtomicLong();
  /** Runs held calls' releases and expiries, off the devices' writers (one thread; each release only sends). */
  private final java.util.concurrent.ScheduledThreadPoolExecutor releaser;
  /**
   * Releases waiting for the releaser, in the order they were decided. A device's writer decides a whole batch's at
   * once; one task drains them, so the releaser's queue (a lock, a heap, a wake-up) is used once per batch, not once
   * per call.
   */
  private final java.util.concurrent.ConcurrentLinkedQueue<Runnable> releases =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final java.util.concurrent.atomic.AtomicBoolean draining = new java.util.concurrent.atomic.AtomicBoolean();
  /** Held calls in the order they were handed over, for {@link #sweepExpired}. */
  private final java.util.concurrent.ConcurrentLinkedQueue<HeldOutcome> heldInOrder =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** How often held calls are checked against their deadline: a refusal comes at most this much after it. */
  static final long SWEEP_MILLIS = 10;
  private final ExecutorService opener = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "keywarden-audit-open");
    t.setDaemon(true);
    return t;
  });
  /** Stores the devices' chain states after their checkpoints, off their writers. */
  private final ExecutorService chainSaves = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "keywarden-audit-chain");
    t.setDaemon(true);
    return t;
  });
  private volatile List<Device> devices = List.of();
  /** Set while an unseal opens the devices: calls wait for it rather than go unaudited. */
  private volatile CountDownLatch opening;
  /** What storage holds, kept in memory so that health never reads storage. */
  private volatile Map<String, AuditRecords.StoredDevice> configured = Map.of();
  private volatile CheckpointSigner signer;
  private volatile boolean closed;
  /** The stored settings each open device was opened with; guarded by lock. */
  private final Map<String, AuditRecords.StoredDevice> openedAs = new LinkedHashMap<>();
  private final CacheFeed feed;
  /** Each calling thread's buffer for the records it makes (no generator or stream per record). */
  private final ThreadLocal<JsonBytes> json = ThreadLocal.withInitial(JsonBytes::new);

  /** The audit log of {@code core}: opens the enabled devices now if unsealed, and on every unseal. */
  public AuditLog(Core core, AuditOptions options) {
    this.core = core;
    this.options = options;
    byte[] prefix = new byte[6];
    options.random().nextBytes(prefix);
    this.idPrefix = HexFormat.of().formatHex(prefix) + "-";
    this.releaser = new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "keywarden-audit-release");
      t.setDaemon(true);
      return t;
    });
    this.releaser.setRemoveOnCancelPolicy(true);
    this.releaser.scheduleWithFixedDelay(this::sweepExpired, SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
    this.configured = readConfigured();
    core.addSealListener(() -> closeAll("seal"));
    core.addUnsealListener(this::onUnseal);
    // devices enabled or disabled by another server sharing the store open or close here too
    this.feed = CacheFeed.watch(core.storage(), AuditRecords.DEVICES, name -> followLater(),
        this::followLater);
    if (!core.isSealed()) {
      openAll("start");
    }
  }

  // ---- the gate

  /** Whether the devices are being opened after an unseal: a call's request record then waits for them. */
  public boolean opening() {
    return opening != null;
  }

  /** Whether any device is open or opening: when false, {@link #writeRequest} writes nothing. */
  public boolean active() {
    return !devices.isEmpty() || opening != null;
  }

  /**
   * Writes the request record of a call to every open device and returns once one of them wrote it (fsynced, for a
   * file). UNAVAILABLE "audit log unavailable: …" when none did within its timeout: the call must then fail with it
   * and its engine must not run. Returns {@link AuditCall#NOT_AUDITED} at once while no device is enabled.
   */
  public AuditCall writeRequest(AuditRequest request) {
    List<Device> ds = devicesNow();
    if (ds.isEmpty()) {
      return AuditCall.NOT_AUDITED;
    }
    String id = idPrefix + Long.toHexString(ids.incrementAndGet());
    long start = System.nanoTime();
    byte[][] bodies = requestBodies(ds, id, request);
    Ticket ticket = new Ticket(names(ds));
    submit(ds, bodies, ticket, start);
    if (!ticket.await(deadline(ds, start), true)) {
      countTimeouts(ds, ticket);
      requestsRefused.increment();
      throw refusal(ticket);
    }
    countTimeouts(ds, ticket);
    return new AuditCall(id, request.rpc(), start);
  }

  /** Hears whether a held call's request record was written: exactly one of the two, once, on an audit thread. */
  public interface Release {
    /** A device wrote the request record: the call's answer may go out. */
    void written();

    /** No device wrote it within its timeout: the call must fail with {@code e} (UNAVAILABLE) and say nothing else. */
    void refused(KeywardenException e);
  }

  /**
   * For a call that changes nothing (encrypt, decrypt, sign, …): hands its request record to every open device and
   * returns at once, so the engine can compute while the record is written; {@code release} then hears whether it
   * was, and the caller must hold the call's answer until {@link Release#written} (and on {@link Release#refused},
   * discard it and fail the call). So no answer leaves the server before its request record is written, as with
   * {@link #writeRequest}, without a thread per call waiting for the device. UNAVAILABLE at once (and
   * {@code release} never hears) when every device refuses on the spot; {@link AuditCall#NOT_AUDITED} (and
   * {@code release} never hears) while no device is enabled.
   */
  public AuditCall writeRequestHeld(AuditRequest request, Release release) {
    List<Device> ds = devicesNow();
    if (ds.isEmpty()) {
      return AuditCall.NOT_AUDITED;
    }
    String id = idPrefix + Long.toHexString(ids.incrementAndGet());
    long start = System.nanoTime();
    byte[][] bodies = requestBodies(ds, id, request);
    HeldOutcome held = new HeldOutcome(release);
    Ticket ticket = new Ticket(names(ds), held);
    held.ticket = ticket;
    held.onThread = Thread.currentThread();
    submit(ds, bodies, ticket, start);
    held.onThread = null;
    if (held.refusedOnTheSpot) {
      requestsRefused.increment();
      throw refusal(ticket);
    }
    held.devices = ds;
    held.deadline = deadline(ds, start);
    heldInOrder.offer(held);
    return new AuditCall(id, request.rpc(), start);
  }

  /**
   * Expires the held calls whose request record no device wrote by their deadline; every {@link #SWEEP_MILLIS} on
   * the releaser. Calls are queued as they are handed over, so their deadlines come in order (but for a device
   * enabled or re-enabled meanwhile with another timeout: a call behind one with a later deadline then expires with
   * it); the sweep stops at the first call still waiting within its time. One queue for all calls instead of a timer
   * task scheduled and cancelled per call.
   */
  private void sweepExpired() {
    long now = System.nanoTime();
    for (HeldOutcome h = heldInOrder.peek(); h != null; h = heldInOrder.peek()) {
      if (!h.settled && now - h.deadline < 0) {
        return;
      }
      heldInOrder.poll();
      try {
        if (!h.settled && h.ticket.expire()) {
          countTimeouts(h.devices, h.ticket);
        }
      } catch (RuntimeException e) { // an exception would end the periodic sweep for good
        log.warn("expiring a held call failed: {}", e.getClass().getSimpleName());
      }
    }
  }

  /** Passes a held call's outcome to its {@link Release} on the releaser thread, never on a device's writer. */
  private final class HeldOutcome implements Ticket.Outcome {
    private final Release release;
    volatile Ticket ticket;
    volatile Thread onThread;
    volatile boolean refusedOnTheSpot;
    /** Its ticket has told it the outcome: the expiry sweep drops it. */
    volatile boolean settled;
    volatile List<Device> devices;
    volatile long deadline;

    HeldOutcome(Release release) {
      this.release = release;
    }

    @Override
    public void written() {
      settled = true;
      release(release::written);
    }

    @Override
    public void refused() {
      settled = true;
      if (Thread.currentThread() == onThread) {
        refusedOnTheSpot = true; // still inside writeRequestHeld: it throws instead
        return;
      }
      requestsRefused.increment();
      KeywardenException e = refusal(ticket);
      release(() -> release.refused(e));
    }
  }

  /** Hands a held call's release to the releaser thread; see {@link #releases}. */
  private void release(Runnable r) {
    releases.offer(r);
    if (draining.compareAndSet(false, true)) {
      try {
        releaser.execute(this::drainReleases);
      } catch (java.util.concurrent.RejectedExecutionException shutDown) {
        draining.set(false); // the server is stopping: its calls end with it
      }
    }
  }

  private void drainReleases() {
    boolean drained = false;
    try {
      while (true) {
        for (Runnable r = releases.poll(); r != null; r = releases.poll()) {
          try {
            r.run();
          } catch (RuntimeException e) {
            log.warn("releasing a held call failed: {}", e.getClass().getSimpleName());
          }
        }
        draining.set(false);
        // a release offered after the last poll and before the flag was cleared found the flag set: take it now
        if (releases.isEmpty() || !draining.compareAndSet(false, true)) {
          drained = true;
          return;
        }
      }
    } finally {
      if (!drained) { // an Error out of a release: the next release starts a new drain
        draining.set(false);
      }
    }
  }

  /**
   * Each device's copy of a request record (secrets hashed under its own key); null where it cannot be made (sealed).
   */
  private byte[][] requestBodies(List<Device> ds, String id, AuditRequest request) {
    Instant time = options.clock().instant();
    JsonBytes g = json.get();
    byte[][] bodies = new byte[ds.size()][];
    for (int i = 0; i < bodies.length; i++) {
      try {
        bodies[i] = RecordFormat.request(g, id, time, options.node(), request, ds.get(i).hmac).toByteArray();
      } catch (KeywardenException sealedMeanwhile) {
        bodies[i] = null;
      }
    }
    return bodies;
  }

  /** As {@link #requestBodies}, for a response record. */
  private byte[][] responseBodies(List<Device> ds, AuditCall call, long micros, AuditResponse response) {
    Instant time = options.clock().instant();
    JsonBytes g = json.get();
    byte[][] bodies = new byte[ds.size()][];
    for (int i = 0; i < bodies.length; i++) {
      try {
        bodies[i] = RecordFormat.response(g, call.id(), time, options.node(), call.rpc(), micros, response,
            ds.get(i).hmac).toByteArray();
      } catch (KeywardenException sealedMeanwhile) {
        bodies[i] = null;
      }
    }
    return bodies;
  }

  /** Hands each device its copy; a device without one tells the ticket it is sealed. */
  private static void submit(List<Device> ds, byte[][] bodies, Ticket ticket, long now) {
    for (int i = 0; i < ds.size(); i++) {
      if (bodies[i] == null) {
        ticket.done(ds.get(i).name(), "sealed");
      } else {
        ds.get(i).submit(bodies[i], ticket, now);
      }
    }
  }

  private static List<String> names(List<Device> ds) {
    if (ds.size() == 1) {
      return List.of(ds.get(0).name());
    }
    String[] names = new String[ds.size()];
    for (int i = 0; i < names.length; i++) {
      names[i] = ds.get(i).name();
    }
    return List.of(names);
  }

  /** When the slowest device's timeout for a record handed over at {@code start} runs out. */
  private static long deadline(List<Device> ds, long start) {
    long deadline = start;
    for (Device d : ds) {
      deadline = Math.max(deadline, start + d.timeoutNanos());
    }
    return deadline;
  }

  private static KeywardenException refusal(Ticket ticket) {
    return KeywardenException.unavailable("audit log unavailable: no audit device wrote the request record ("
        + String.join("; ", ticket.failures()) + "), so the call was not run; retry later", null)
        .withReason("AUDIT_UNAVAILABLE");
  }

  /**
   * Hands the response record of {@code call} to every open device and returns at once: the client already has its
   * answer, and the record cannot fail the call, so the call's thread does not wait for a device write (the record
   * goes into the same batch write and fsync as the request records queued with it). Never throws: a response
   * record no device wrote is logged (with the call's id, RPC and status only) and counted in
   * {@link AuditMetrics#responsesLost()}. Secrets are hashed before this returns, so the caller may zeroize them
   * then. Does nothing for {@link AuditCall#NOT_AUDITED}.
   */
  public void writeResponse(AuditCall call, AuditResponse response) {
    prepareResponse(call, response).submit();
  }

  /** A response record made (its secrets hashed) but not yet handed to the devices. */
  public interface PreparedResponse {
    /** Hands it to every device open when it was made; never throws. */
    void submit();
  }

  private static final PreparedResponse NOTHING = () -> { };

  /**
   * Makes the response record of {@code call} now (hashing its secrets, so the caller may zeroize them once this
   * returns) to be handed over later by {@link PreparedResponse#submit} — for a held answer, once it is released.
   * Never throws; see {@link #writeResponse}.
   */
  public PreparedResponse prepareResponse(AuditCall call, AuditResponse response) {
    if (call == null || !call.audited()) {
      return NOTHING;
    }
    String status = response.status();
    try {
      List<Device> ds = devices;
      if (ds.isEmpty()) {
        return () -> lost(call, status, "no audit device is open");
      }
      long now = System.nanoTime();
      long micros = (now - call.startNanos()) / 1000;
      byte[][] bodies = responseBodies(ds, call, micros, response);
      return () -> {
        try {
          Ticket[] ticket = new Ticket[1];
          ticket[0] = new Ticket(names(ds), () -> lost(call, status, String.join("; ", ticket[0].failures())));
          submit(ds, bodies, ticket[0], System.nanoTime());
        } catch (RuntimeException e) {
          lost(call, status, e.getClass().getSimpleName());
        }
      };
    } catch (RuntimeException e) {
      return () -> lost(call, status, e.getClass().getSimpleName());
    }
  }

  /**
   * Waits until every record handed over so far was written (or failed) on every open device, at most
   * {@code wait}; false when some device did not get there in time. For tests and for a clean shutdown.
   */
  public boolean sync(Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    boolean all = true;
    for (Device d : devices) {
      all &= d.sync(deadline);
    }
    return all;
  }

  private void lost(AuditCall call, String status, String why) {
    responsesLost.increment();
    log.error("audit: the response record of call {} ({}, status {}) was not written: {}", call.id(), call.rpc(),
        status, why);
  }

  private void countTimeouts(List<Device> ds, Ticket ticket) {
    List<String> unanswered = ticket.unanswered();
    if (!unanswered.isEmpty()) {
      ds.stream().filter(d -> unanswered.contains(d.name())).forEach(Device::timedOut);
    }
  }

  private List<Device> devicesNow() {
    List<Device> ds = devices;
    if (!ds.isEmpty()) {
      return ds;
    }
    CountDownLatch o = opening;
    if (o == null) {
      return ds;
    }
    try {
      if (!o.await(AuditDeviceConfig.DEFAULT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        requestsRefused.increment();
        throw KeywardenException.unavailable("audit log unavailable: the audit devices are still opening after the "
            + "unseal; retry shortly", null).withReason("AUDIT_UNAVAILABLE");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw KeywardenException.unavailable("audit log unavailable: interrupted", null)
          .withReason("AUDIT_UNAVAILABLE");
    }
    return devices;
  }

  // ---- operators

  /**
   * Enables a device: stores its settings and a new audit HMAC key (wrapped by the KEK), makes the audit signing key
   * in the HSM on first use, opens the device and writes its first record. ALREADY_EXISTS for a name in use,
   * INVALID_ARGUMENT for a path or address another device writes to, FAILED_PRECONDITION when it cannot be opened
   * (nothing is stored then) or while sealed.
   */
  public AuditDeviceInfo enable(AuditDeviceConfig config) {
    synchronized (lock) {
      Unsealed u = core.unsealed();
      Storage storage = core.storage();
      String name = config.name();
      if (AuditRecords.readDevice(storage, name).isPresent()) {
        throw KeywardenException.alreadyExists("audit device '" + Inputs.quoted(name)
            + "' is already enabled; disable it first to change it");
      }
      for (AuditRecords.StoredDevice other : readConfigured().values()) {
        AuditDeviceConfig o = other.config();
        if (o.type() == config.type() && sameTarget(o, config)) {
          throw KeywardenException.invalid("audit device '" + o.name() + "' already writes to '"
              + Inputs.quoted(config.target()) + "'");
        }
      }
      CheckpointSigner cs = signer(u);
      byte[] key = new byte[AuditHmac.KEY_BYTES];
      byte[] wrapped;
      try {
        options.random().nextBytes(key);
        wrapped = u.workingKeys().wrap(key);
      } finally {
        Arrays.fill(key, (byte) 0);
      }
      Instant at = options.clock().instant();
      byte[] stored = StoredJson.write(AuditRecords.StoredDevice.of(config, at));
      storage.atomically(tx -> {
        if (!tx.compareAndSet(AuditRecords.device(name), 0, stored)) {
          throw KeywardenException.alreadyExists("audit device '" + Inputs.quoted(name) + "' is already enabled");
        }
        tx.put(AuditRecords.hmacKey(name), wrapped);
        AuditRecords.deleteChains(tx, name);
        return null;
      });
      Device d = newDevice(config, cs, null, "enable");
      d.start();
      String failure = d.awaitOpened(config.timeout());
      if (failure != null) {
        d.awaitClosed(d.beginClose("enable failed"), System.nanoTime() + config.timeout().toNanos());
        forget(name);
        throw KeywardenException.precondition("cannot open audit device '" + name + "' (" + config.type().wireName()
            + " " + Inputs.quoted(config.target()) + "): " + failure + "; nothing was enabled");
      }
      List<Device> now = new ArrayList<>(devices);
      now.add(d);
      devices = List.copyOf(now);
      configured = readConfigured();
      openedAs.put(name, configured.get(name));
      log.info("audit device {} enabled: {} {}", name, config.type().wireName(), config.target());
      return new AuditDeviceInfo(config, at, d.health());
    }
  }

  private static boolean sameTarget(AuditDeviceConfig a, AuditDeviceConfig b) {
    if (a.type() == AuditDeviceConfig.Type.FILE) {
      return Path.of(a.path()).normalize().equals(Path.of(b.path()).normalize());
    }
    return a.address().equals(b.address());
  }

  /**
   * Disables a device: closes it with a final signed checkpoint, then deletes its settings and its HMAC key (its old
   * records can no longer be hashed against). NOT_FOUND when no such device is enabled.
   */
  public void disable(String name) {
    synchronized (lock) {
      Unsealed u = core.unsealed();
      if (AuditRecords.readDevice(core.storage(), name).isEmpty()) {
        throw notFound(name);
      }
      Device d = open(name);
      if (d != null) {
        devices = devices.stream().filter(x -> x != d).toList();
        d.awaitClosed(d.beginClose("disable"), System.nanoTime() + d.timeoutNanos());
      }
      openedAs.remove(name);
      forget(name);
      u.workingKeys().invalidate(AuditRecords.hmacKey(name));
      log.info("audit device {} disabled", name);
    }
  }

  private void forget(String name) {
    core.storage().atomically(tx -> {
      tx.delete(AuditRecords.device(name));
      tx.delete(AuditRecords.hmacKey(name));
      AuditRecords.deleteChains(tx, name);
      return null;
    });
    configured = readConfigured();
  }

  /** The enabled devices with their settings and state (CLOSED while sealed), by name. */
  public List<AuditDeviceInfo> list() {
    Map<String, Device> open = new LinkedHashMap<>();
    devices.forEach(d -> open.put(d.name(), d));
    List<AuditDeviceInfo> out = new ArrayList<>();
    for (AuditRecords.StoredDevice s : configured.values()) {
      Device d = open.get(s.name());
      AuditHealth.DeviceHealth h = d != null ? d.health()
          : new AuditHealth.DeviceHealth(s.name(), AuditHealth.State.CLOSED, core.isSealed() ? "sealed" : "not open",
              null, 0);
      out.add(new AuditDeviceInfo(s.config(), s.enabled(), h));
    }
    return out;
  }

  /**
   * The HMAC under device {@code name}'s audit key of {@code value}, as that device writes it
   * ({@code hmac-sha256:<hex>}): find the records about a known token, plaintext or ciphertext. NOT_FOUND for no such
   * device; FAILED_PRECONDITION while sealed. The caller zeroizes {@code value}.
   */
  public String hash(String name, byte[] value) {
    if (AuditRecords.readDevice(core.storage(), name).isEmpty()) {
      throw notFound(name);
    }
    return hmac(name, value);
  }

  private String hmac(String device, byte[] value) {
    return core.unsealed().workingKeys().withKey(AuditRecords.hmacKey(device), k -> AuditHmac.of(k, value));
  }

  /**
   * Reopens device {@code name}'s file (after logrotate renamed it): the old file ends with a final checkpoint, the
   * new one starts with a "continues" record carrying the chain on. NOT_FOUND for no such open device;
   * FAILED_PRECONDITION when it is not a file or did not reopen within its timeout.
   */
  public void reopen(String name) {
    Device d = open(name);
    if (d == null) {
      throw notFound(name);
    }
    if (d.config.type() != AuditDeviceConfig.Type.FILE) {
      throw KeywardenException.precondition("audit device '" + name + "' is a socket: only files are reopened");
    }
    if (!d.reopen()) {
      throw KeywardenException.precondition("audit device '" + name + "' did not reopen within its timeout: "
          + d.health().reason());
    }
  }

  /** Reopens every file device (on SIGHUP); returns how many reopened. */
  public int reopenAll() {
    int n = 0;
    for (Device d : devices) {
      if (d.config.type() == AuditDeviceConfig.Type.FILE && d.reopen()) {
        n++;
      }
    }
    return n;
  }

  /**
   * The audit signing key's public half, which verifies every checkpoint offline. NOT_FOUND before the first device
   * was enabled; FAILED_PRECONDITION while sealed.
   */
  public PublicKey publicKey() {
    CheckpointSigner cs = signer;
    if (cs == null) {
      synchronized (lock) {
        Unsealed u = core.unsealed();
        if (core.storage().get(AuditRecords.SIGNING_KEY).isEmpty()) {
          throw KeywardenException.notFound("no audit signing key yet: it is made when the first audit device is "
              + "enabled");
        }
        cs = signer(u);
      }
    }
    return cs.publicKey();
  }

  /** {@link #publicKey()} as a PEM "PUBLIC KEY" block (X.509 SubjectPublicKeyInfo). */
  public String publicKeyPem() {
    return Pem.block("PUBLIC KEY", publicKey().getEncoded());
  }

  /** Whether auditing is on and can write now; each device's state. Reads no storage and never blocks. */
  public AuditHealth health() {
    List<AuditHealth.DeviceHealth> hs = list().stream().map(AuditDeviceInfo::health).toList();
    boolean enabled = !hs.isEmpty();
    boolean available = !enabled || hs.stream().anyMatch(h -> h.state() == AuditHealth.State.HEALTHY);
    return new AuditHealth(enabled, available, hs);
  }

  /** The counters of every device opened since start, and of refused calls and lost responses. */
  public AuditMetrics metrics() {
    Map<String, Integer> depth = new LinkedHashMap<>();
    devices.forEach(d -> depth.put(d.name(), d.queueDepth()));
    List<AuditMetrics.Device> ds = metrics.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .map(e -> e.getValue().snapshot(e.getKey(), depth.getOrDefault(e.getKey(), 0))).toList();
    return new AuditMetrics(ds, requestsRefused.sum(), responsesLost.sum());
  }

  /** Closes every device with a final checkpoint (server shutdown). */
  @Override
  public void close() {
    closed = true;
    feed.close();
    closeAll("shutdown");
    opener.shutdownNow();
    releaser.shutdown();
    chainSaves.shutdown();
  }

  // ---- opening and closing

  private void onUnseal() {
    if (closed) {
      return;
    }
    CountDownLatch latch = new CountDownLatch(1);
    opening = latch;
    opener.execute(() -> {
      try {
        openAll("unseal");
      } finally {
        opening = null;
        latch.countDown();
      }
    });
  }

  private void openAll(String why) {
    synchronized (lock) {
      try {
        Map<String, AuditRecords.StoredDevice> stored = readConfigured();
        configured = stored;
        if (stored.isEmpty() || core.isSealed()) {
          return;
        }
        Unsealed u = core.unsealed();
        CheckpointSigner cs;
        try {
          cs = signer(u);
        } catch (KeywardenException e) {
          log.error("audit: the signing key cannot be used ({}): devices open, but no checkpoint will be signed",
              e.getMessage());
          cs = unusableSigner(e);
        }
        List<Device> opened = new ArrayList<>();
        openedAs.clear();
        for (AuditRecords.StoredDevice s : stored.values()) {
          opened.add(openStored(s, cs, why));
        }
        devices = List.copyOf(opened);
      } catch (RuntimeException e) {
        // with devices enabled and none open, calls must not go unaudited: leave them failing closed
        log.error("audit: opening the devices failed ({}): calls fail until they open", e.getClass().getName());
        devices = List.of(failedDevice());
      }
    }
  }

  private void closeAll(String why) {
    synchronized (lock) {
      List<Device> ds = devices;
      devices = List.of();
      openedAs.clear();
      List<Object> handles = new ArrayList<>();
      long deadline = System.nanoTime();
      for (Device d : ds) {
        handles.add(d.beginClose(why));
        deadline = Math.max(deadline, System.nanoTime() + d.timeoutNanos());
      }
      for (int i = 0; i < ds.size(); i++) {
        ds.get(i).awaitClosed(handles.get(i), deadline);
      }
      signer = null;
    }
  }

  /** Opens a stored device where its chain stood on this server. Under lock. */
  private Device openStored(AuditRecords.StoredDevice s, CheckpointSigner cs, String why) {
    ChainState known = AuditRecords.readChain(core.storage(), s.name(), options.node()).orElse(null);
    Device d = newDevice(s.config(), cs, known, why);
    d.start();
    openedAs.put(s.name(), s);
    return d;
  }

  /** After a change to the stored devices (maybe by another server): open and close here to match, off the feed. */
  private void followLater() {
    if (closed) {
      return;
    }
    try {
      opener.execute(this::follow);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // shutting down
    }
  }

  private void follow() {
    synchronized (lock) {
      if (closed || core.isSealed()) {
        return;
      }
      Map<String, AuditRecords.StoredDevice> stored;
      try {
        stored = readConfigured();
      } catch (KeywardenException e) {
        log.warn("audit: the device settings could not be read after a change ({}); retrying on the next change",
            e.getMessage());
        return;
      }
      configured = stored;
      List<Device> keep = new ArrayList<>();
      List<Device> closing = new ArrayList<>();
      for (Device d : devices) {
        AuditRecords.StoredDevice s = stored.get(d.name());
        if (s != null && s.equals(openedAs.get(d.name()))) {
          keep.add(d);
        } else {
          closing.add(d);
        }
      }
      if (closing.isEmpty() && keep.size() == stored.size()) {
        return;
      }
      Unsealed u;
      try {
        u = core.unsealed();
      } catch (KeywardenException e) {
        return;
      }
      devices = List.copyOf(keep);
      for (Device d : closing) {
        openedAs.remove(d.name());
        u.workingKeys().invalidate(AuditRecords.hmacKey(d.name()));
        d.awaitClosed(d.beginClose("disabled on another server"), System.nanoTime() + d.timeoutNanos());
        log.info("audit device {} closed: it was disabled or changed on another server", d.name());
      }
      List<Device> now = new ArrayList<>(keep);
      CheckpointSigner cs = null;
      for (AuditRecords.StoredDevice s : stored.values()) {
        if (openedAs.containsKey(s.name())) {
          continue;
        }
        u.workingKeys().invalidate(AuditRecords.hmacKey(s.name()));
        try {
          if (cs == null) {
            cs = signer(u);
          }
          now.add(openStored(s, cs, "enabled on another server"));
          log.info("audit device {} opened: it was enabled on another server", s.name());
        } catch (KeywardenException e) {
          log.error("audit device {} enabled on another server could not be opened here: {}", s.name(),
              e.getMessage());
        }
      }
      devices = List.copyOf(now);
    }
  }

  private Device newDevice(AuditDeviceConfig config, CheckpointSigner cs, ChainState known, String why) {
    Sink sink = config.type() == AuditDeviceConfig.Type.FILE ? new FileSink(filePath(config))
        : new SocketSink(config.address(), config.timeout());
    Device.Settings settings = new Device.Settings(options.node(), options.clock(), options.checkpointEvery(),
        options.checkpointInterval(),
        (name, state) -> AuditRecords.writeChain(core.storage(), name, options.node(), state), chainSaves);
    String hmacKey = AuditRecords.hmacKey(config.name());
    DeviceHmac hmac = new DeviceHmac(() -> core.unsealed().workingKeys().withKey(hmacKey, AuditHmac::keyed));
    return new Device(config, hmac, sink, cs, settings,
        metrics.computeIfAbsent(config.name(), n -> new DeviceMetrics()), known, why);
  }

  /** A device that refuses every record: stands in when opening the real ones failed. */
  private Device failedDevice() {
    AuditDeviceConfig c = new AuditDeviceConfig("unopened", AuditDeviceConfig.Type.SOCKET, "", null,
        "unix:/nonexistent/keywarden-audit", Duration.ofMillis(1), 1, null);
    Device d = newDevice(c, unusableSigner(KeywardenException.precondition("not open")), null, "unopened");
    d.beginClose("unopened");
    return d;
  }

  /**
   * A file device's path on this server: {@code {node}} in the configured path becomes this server's name (letters,
   * digits, '.', '-', '_'; anything else '_'), so that servers sharing a machine and a store write separate files.
   */
  private Path filePath(AuditDeviceConfig config) {
    return Path.of(config.path().replace(NODE_PLACEHOLDER, options.node().replaceAll("[^A-Za-z0-9._-]", "_")));
  }

  /** In a file device's path, stands for this server's name. */
  public static final String NODE_PLACEHOLDER = "{node}";

  private Device open(String name) {
    return devices.stream().filter(d -> d.name().equals(name)).findFirst().orElse(null);
  }

  private Map<String, AuditRecords.StoredDevice> readConfigured() {
    Map<String, AuditRecords.StoredDevice> out = new LinkedHashMap<>();
    for (String key : core.storage().list(AuditRecords.DEVICES)) {
      Optional<AuditRecords.StoredDevice> d = AuditRecords.readDevice(core.storage(),
          key.substring(AuditRecords.DEVICES.length()));
      d.ifPresent(s -> out.put(s.name(), s));
    }
    return Map.copyOf(out);
  }

  /** The audit signing key: made in the HSM on first use (one per server, for every device). Under lock. */
  private CheckpointSigner signer(Unsealed u) {
    CheckpointSigner cs = signer;
    if (cs != null) {
      return cs;
    }
    Storage storage = core.storage();
    AuditRecords.StoredSigningKey key = storage.get(AuditRecords.SIGNING_KEY)
        .map(e -> StoredJson.read(e.value(), AuditRecords.StoredSigningKey.class)).orElse(null);
    if (key == null) {
      byte[] suffix = new byte[8];
      options.random().nextBytes(suffix);
      KeyPairAlgorithm alg = options.signingKeyAlgorithm();
      HsmKeyId id = u.hsm().generateKeyPair("keywarden-audit-" + HexFormat.of().formatHex(suffix), alg);
      key = new AuditRecords.StoredSigningKey(id.label(), id.idHex(), alg.name());
      if (!storage.compareAndSet(AuditRecords.SIGNING_KEY, 0, StoredJson.write(key))) {
        u.hsm().destroyKey(id);
        return signer(u);
      }
      log.info("audit signing key {} made in the HSM ({})", id.label(), alg);
    }
    cs = CheckpointSigner.of(u.hsm().signer(new HsmKeyId(key.label(), key.idHex())));
    signer = cs;
    return cs;
  }

  private static CheckpointSigner unusableSigner(KeywardenException why) {
    return new CheckpointSigner() {
      @Override
      public PublicKey publicKey() {
        throw why;
      }

      @Override
      public byte[] sign(byte[] message) {
        throw why;
      }
    };
  }

  private static KeywardenException notFound(String name) {
    return KeywardenException.notFound("no audit device named '" + Inputs.quoted(name)
        + "' is enabled (keywarden audit list)");
  }
}
