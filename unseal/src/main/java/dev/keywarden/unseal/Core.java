package dev.keywarden.unseal;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.storage.CacheFeed;
import dev.keywarden.storage.InitMarker;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredEntry;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The seal state machine: init, unseal, seal, rekey and generate-root. Sealed, it holds nothing secret; unsealed, it
 * holds the open HSM, the KEK and the working-key cache ({@link Unsealed}). Ceremonies are serialized by one lock; the
 * request path reads a volatile reference and never takes it.
 */
public final class Core {
  /** Where the seal envelope is stored. */
  public static final String SEAL_ENVELOPE = "sys/seal";
  private static final Logger log = LoggerFactory.getLogger(Core.class);
  private static final int UNSEAL_KEY_BYTES = 32;

  private final Storage storage;
  private final HsmProvider hsmProvider;
  private final SecureRandom random;
  private final int workingKeyCapacity;
  private final InitMarker marker;
  private final Object lock = new Object();

  private final List<Runnable> sealListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<Runnable> unsealListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final ClusterSeal clusterSeal;
  private volatile Unsealed unsealed;
  /** Written under lock; volatile so the request path can tell "not initialized" from "sealed" without it. */
  private volatile SealHeader header;
  // guarded by lock
  private ShareQuorum unsealQuorum;
  /** Rekey and generate-root are stored, so that shares can go to any server sharing the store. */
  private final StoredCeremony rekey;
  private final StoredCeremony generateRoot;
  /** Set when the stored envelope changed (a rekey, maybe on another server): the header is read again before use. */
  private volatile boolean headerStale;

  /** A core over {@code storage} that opens HSMs with {@code hsmProvider}; starts sealed. No init marker. */
  public Core(Storage storage, HsmProvider hsmProvider, SecureRandom random, int workingKeyCapacity) {
    this(storage, hsmProvider, random, workingKeyCapacity, InitMarker.none());
  }

  /**
   * A core whose data dir keeps {@code marker}: init writes it, and a start that finds the marker but no seal envelope
   * in storage fails (FAILED_PRECONDITION) instead of offering init over a lost database.
   */
  public Core(Storage storage, HsmProvider hsmProvider, SecureRandom random, int workingKeyCapacity,
      InitMarker marker) {
    this.storage = storage;
    this.hsmProvider = hsmProvider;
    this.random = random;
    this.workingKeyCapacity = workingKeyCapacity;
    this.marker = marker;
    storage.get(SEAL_ENVELOPE).ifPresent(e -> header = SealEnvelopeCodec.header(e.value()));
    checkMarker();
    this.rekey = new StoredCeremony(storage, StoredCeremony.Kind.REKEY);
    this.generateRoot = new StoredCeremony(storage, StoredCeremony.Kind.GENERATE_ROOT);
    this.clusterSeal = new ClusterSeal(this, storage);
    CacheFeed.watch(storage, SEAL_ENVELOPE, key -> headerStale = true, () -> headerStale = true);
  }

  /**
   * The header, read again from storage when the envelope changed since it was last read (a rekey, maybe on another
   * server) or while this server has seen none. Under lock.
   */
  private SealHeader currentHeader() {
    // also while none was seen: another server sharing the store may have initialized it since this one started
    if (headerStale || header == null) {
      headerStale = false;
      try {
        storage.get(SEAL_ENVELOPE).ifPresent(e -> header = SealEnvelopeCodec.header(e.value()));
      } catch (RuntimeException e) {
        headerStale = true;
        throw e;
      }
    }
    return header;
  }

  /** Refuses a data dir initialized before whose storage holds no envelope; adds the marker to one that lacks it. */
  private void checkMarker() {
    var recorded = marker.read();
    if (header == null) {
      recorded.ifPresent(r -> {
        throw marker.initializedButEmpty(r, "holds no seal envelope (it was replaced, emptied or damaged)");
      });
    } else if (recorded.isEmpty()) {
      // initialized before markers existed, or writing it after init failed
      writeMarker(new InitMarker.Recorded(Instant.now(), header.kekLabel(), false));
    }
  }

  private void writeMarker(InitMarker.Recorded recorded) {
    try {
      marker.write(recorded);
    } catch (IOException e) {
      // init itself succeeded: its shares must still reach the caller, so a missing marker is only a warning
      log.warn("could not write {} in data dir {} ({}): a lost database would not be detected at start",
          InitMarker.FILE, marker.dataDir(), e.getClass().getSimpleName());
    }
  }

  /** The error every request gets while sealed. */
  public static KeywardenException sealedError() {
    return new KeywardenException(Kind.FAILED_PRECONDITION,
        "sealed: the server must be unsealed first (keywarden operator unseal)").withReason("SEALED");
  }

  /** The error every request gets before init. */
  public static KeywardenException notInitializedError() {
    return new KeywardenException(Kind.FAILED_PRECONDITION,
        "not initialized: run `keywarden operator init` first, then unseal (keywarden operator unseal)")
        .withReason("NOT_INITIALIZED");
  }

  /**
   * The unsealed state, or FAILED_PRECONDITION "not initialized" / "sealed". Lock-free: the request path calls it.
   */
  public Unsealed unsealed() {
    Unsealed u = unsealed;
    if (u == null) {
      throw header == null ? notInitializedError() : sealedError();
    }
    return u;
  }

  /**
   * Runs {@code listener} each time the server seals or shuts down, after the state is sealed: engines drop and zeroize
   * what they cached from the unsealed state.
   */
  public void addSealListener(Runnable listener) {
    sealListeners.add(listener);
  }

  /**
   * Runs {@code listener} each time the server unseals, after the state is unsealed, under the ceremony lock: it must
   * only hand work to another thread (engines warm their caches there).
   */
  public void addUnsealListener(Runnable listener) {
    unsealListeners.add(listener);
  }

  private void notifyUnsealed() {
    for (Runnable listener : unsealListeners) {
      try {
        listener.run();
      } catch (RuntimeException e) {
        log.error("an unseal listener failed: {}", e.getClass().getName());
      }
    }
  }

  private void notifySealed() {
    for (Runnable listener : sealListeners) {
      try {
        listener.run();
      } catch (RuntimeException e) {
        log.error("a seal listener failed: {}", e.getClass().getName());
      }
    }
  }

  /** True while sealed. */
  public boolean isSealed() {
    return unsealed == null;
  }

  /** The storage behind this core. */
  public Storage storage() {
    return storage;
  }

  /** Status for `keywarden status`. */
  public CoreStatus status() {
    synchronized (lock) {
      SealHeader h = header;
      String rekeyNonce = "";
      String generateRootNonce = "";
      try {
        h = currentHeader();
        if (h != null) {
          rekeyNonce = rekey.current().map(StoredCeremony.Record::nonce).orElse("");
          generateRootNonce = generateRoot.current().map(StoredCeremony.Record::nonce).orElse("");
        }
      } catch (KeywardenException e) {
        // storage is unreachable: status still answers with what this server knows
      }
      boolean initialized = h != null;
      return new CoreStatus(initialized, unsealed == null,
          initialized ? h.threshold() : 0, initialized ? h.shares() : 0,
          unsealQuorum == null ? 0 : unsealQuorum.progress(),
          hsmProvider.describe(), initialized ? h.kekLabel() : "", storage.kind(), rekeyNonce, generateRootNonce);
    }
  }

  /**
   * Generates the KEK in the HSM, writes the seal envelope and the initial state in one transaction, and returns the
   * shares and root token. The server stays sealed. {@code pin} is zeroized here.
   */
  public InitResult initialize(int shares, int threshold, char[] pin, boolean allowSingleShareThreshold,
      InitialState initialState) {
    char[] hsmPin = pin;
    byte[] unsealKey = new byte[UNSEAL_KEY_BYTES];
    try {
      validateSplit(shares, threshold, allowSingleShareThreshold);
      synchronized (lock) {
        if (header != null || storage.get(SEAL_ENVELOPE).isPresent()) {
          throw KeywardenException.alreadyExists("already initialized: use the existing shares to unseal");
        }
        if (hsmProvider.generatesOwnPin()) {
          if (hsmPin != null && hsmPin.length > 0) {
            throw KeywardenException.invalid(
                "hsm_pin was given, but this server uses the dev-only software KEK: configure --pkcs11-library to use an HSM");
          }
          hsmPin = hsmProvider.newPin();
        } else if (hsmPin == null || hsmPin.length == 0) {
          throw KeywardenException.invalid("hsm_pin is required: the user PIN of HSM token '"
              + hsmProvider.describe().tokenLabel() + "'");
        }
        random.nextBytes(unsealKey);
        List<UnsealShare> split = UnsealKeySplitter.split(unsealKey, shares, threshold, random);
        String label = "keywarden-kek-" + HexFormat.of().toHexDigits(split.get(0).shareSetId());
        SealHeader newHeader = new SealHeader(split.get(0).shareSetId(), shares, threshold, label);
        String rootToken;
        try (Hsm hsm = hsmProvider.open(hsmPin)) {
          KekIdentity kekId = hsm.generateKek(label);
          KeyEncryptionKey kek = hsm.kek(kekId);
          SealEnvelope envelope = new SealEnvelope(kekId, hsmPin.clone());
          byte[] sealed;
          try {
            sealed = SealEnvelopeCodec.seal(newHeader, envelope, unsealKey, random);
          } finally {
            envelope.destroy();
          }
          rootToken = storage.atomically(tx -> {
            if (!tx.compareAndSet(SEAL_ENVELOPE, 0, sealed)) {
              throw KeywardenException.alreadyExists("already initialized: use the existing shares to unseal");
            }
            return initialState.write(tx, kek);
          });
        }
        header = newHeader;
        writeMarker(new InitMarker.Recorded(Instant.now(), label, true));
        List<String> encoded = split.stream().map(ShareCodec::encode).toList();
        split.forEach(UnsealShare::destroy);
        log.info("initialized: {} shares, threshold {}, KEK '{}' generated in the HSM", shares, threshold, label);
        return new InitResult(encoded, threshold, rootToken, label);
      }
    } finally {
      Arrays.fill(unsealKey, (byte) 0);
      if (hsmPin != null) {
        Arrays.fill(hsmPin, '\0');
      }
    }
  }

  /** Submits one unseal share; at K shares the envelope is opened, the HSM logged into and the KEK found. */
  public CeremonyProgress submitUnsealShare(String typed) {
    UnsealShare share = ShareCodec.decode(typed);
    synchronized (lock) {
      SealHeader h = requireInitialized();
      if (unsealed != null) {
        share.destroy();
        throw KeywardenException.precondition("already unsealed");
      }
      if (unsealQuorum != null && !unsealQuorum.header().equals(h)) {
        unsealQuorum.clear(); // a rekey replaced the shares since the first of these was submitted
        unsealQuorum = null;
      }
      if (unsealQuorum == null) {
        unsealQuorum = new ShareQuorum(h);
      }
      unsealQuorum.add(share);
      if (!unsealQuorum.complete()) {
        return CeremonyProgress.pending(unsealQuorum.progress(), h.threshold());
      }
      ShareQuorum quorum = unsealQuorum;
      unsealQuorum = null;
      SealEnvelope envelope = openEnvelope(quorum, "unseal");
      try {
        unsealed = openHsm(envelope);
      } finally {
        envelope.destroy();
      }
      log.info("unsealed");
      notifyUnsealed();
      return new CeremonyProgress(true, 0, h.threshold(), List.of(), 0, "");
    }
  }

  /** Discards the unseal shares submitted so far. */
  public CeremonyProgress resetUnseal() {
    synchronized (lock) {
      SealHeader h = requireInitialized();
      if (unsealQuorum != null) {
        unsealQuorum.clear();
        unsealQuorum = null;
      }
      return CeremonyProgress.pending(0, h.threshold());
    }
  }

  /**
   * Seals every node sharing this storage (`operator seal --all`), this one at once and the others as they hear it on
   * the change feed; a node unsealed afterwards stays unsealed.
   */
  public void sealAll() {
    rekey.discard();
    generateRoot.discard();
    clusterSeal.sealAll();
    sealIfUnsealed();
  }

  /** Seals unless already sealed; whether this call sealed. */
  boolean sealIfUnsealed() {
    synchronized (lock) {
      if (unsealed == null) {
        return false;
      }
      seal();
      return true;
    }
  }

  /**
   * Seals this server: zeroizes every working key, logs out of the HSM. A rekey or generate-root in progress stays for
   * the other servers sharing the store ({@link #sealAll} cancels them).
   */
  public void seal() {
    synchronized (lock) {
      Unsealed u = unsealed;
      if (u == null) {
        throw sealedError();
      }
      unsealed = null;
      notifySealed();
      u.close();
      log.info("sealed: working keys zeroized, logged out of the HSM");
    }
  }

  /** Closes the HSM session if unsealed (server shutdown). */
  public void shutdown() {
    synchronized (lock) {
      Unsealed u = unsealed;
      unsealed = null;
      if (u != null) {
        notifySealed();
        u.close();
      }
      if (unsealQuorum != null) {
        unsealQuorum.clear();
        unsealQuorum = null;
      }
    }
  }

  /**
   * Starts a rekey to a new split of N shares with threshold K; returns its nonce. Stored: the current shares may then
   * be submitted to any server sharing the store.
   */
  public CeremonyStarted startRekey(int shares, int threshold, boolean allowSingleShareThreshold) {
    validateSplit(shares, threshold, allowSingleShareThreshold);
    synchronized (lock) {
      SealHeader h = requireInitialized();
      unsealed();
      String nonce = newNonce();
      rekey.start(nonce, h, shares, threshold);
      return new CeremonyStarted(nonce, h.threshold());
    }
  }

  /**
   * Submits a current share to the rekey. At K shares: a new unseal key re-encrypts the envelope, which replaces the old
   * one in a single compare-and-set; only then do the old shares stop working.
   */
  public CeremonyProgress submitRekeyShare(String nonce, String typed) {
    UnsealShare share = ShareCodec.decode(typed);
    synchronized (lock) {
      StoredCeremony.Outcome o;
      SealHeader h;
      try {
        h = requireInitialized();
        o = rekey.submit(nonce, share, h, unsealed().kek());
      } finally {
        share.destroy();
      }
      if (!o.done()) {
        return CeremonyProgress.pending(o.progress(), h.threshold());
      }
      StoredCeremony.Record c = o.record();
      ShareQuorum quorum = quorumOf(h, o.complete());
      StoredEntry stored;
      try {
        stored = storage.get(SEAL_ENVELOPE).orElseThrow(Core::notInitializedError);
      } catch (RuntimeException e) {
        quorum.clear(); // the unwrapped shares are zeroized whatever happens
        throw e;
      }
      SealEnvelope envelope = openEnvelope(quorum, "rekey");
      byte[] newKey = new byte[UNSEAL_KEY_BYTES];
      List<UnsealShare> split = List.of();
      try {
        random.nextBytes(newKey);
        split = UnsealKeySplitter.split(newKey, c.newShares(), c.newThreshold(), random);
        SealHeader newHeader = new SealHeader(split.get(0).shareSetId(), c.newShares(), c.newThreshold(),
            h.kekLabel());
        byte[] resealed = SealEnvelopeCodec.seal(newHeader, envelope, newKey, random);
        if (!storage.compareAndSet(SEAL_ENVELOPE, stored.version(), resealed)) {
          throw KeywardenException.precondition("the seal envelope changed during the rekey; start the rekey again");
        }
        header = newHeader;
        List<String> encoded = split.stream().map(ShareCodec::encode).toList();
        log.info("rekeyed: {} new shares, threshold {}; the old shares no longer work", c.newShares(),
            c.newThreshold());
        return new CeremonyProgress(true, h.threshold(), h.threshold(), encoded, c.newThreshold(), "");
      } finally {
        Arrays.fill(newKey, (byte) 0);
        split.forEach(UnsealShare::destroy);
        envelope.destroy();
      }
    }
  }

  /** Cancels the rekey in progress (on whichever server it was started); the current shares stay valid. */
  public void cancelRekey() {
    synchronized (lock) {
      rekey.cancel();
    }
  }

  /** Starts a generate-root ceremony; returns its nonce. The server must be unsealed. Stored, as a rekey is. */
  public CeremonyStarted startGenerateRoot() {
    synchronized (lock) {
      SealHeader h = requireInitialized();
      unsealed();
      String nonce = newNonce();
      generateRoot.start(nonce, h, 0, 0);
      return new CeremonyStarted(nonce, h.threshold());
    }
  }

  /** Submits a share to the generate-root; at K verified shares, {@code mintRootToken} makes the new root token. */
  public CeremonyProgress submitGenerateRootShare(String nonce, String typed, Supplier<String> mintRootToken) {
    UnsealShare share = ShareCodec.decode(typed);
    synchronized (lock) {
      StoredCeremony.Outcome o;
      SealHeader h;
      try {
        h = requireInitialized();
        o = generateRoot.submit(nonce, share, h, unsealed().kek());
      } finally {
        share.destroy();
      }
      if (!o.done()) {
        return CeremonyProgress.pending(o.progress(), h.threshold());
      }
      openEnvelope(quorumOf(h, o.complete()), "generate-root").destroy();
      unsealed();
      String token = mintRootToken.get();
      log.info("generate-root: a new root token was made with {} shares", h.threshold());
      return new CeremonyProgress(true, h.threshold(), h.threshold(), List.of(), 0, token);
    }
  }

  /** Cancels the generate-root in progress. */
  public void cancelGenerateRoot() {
    synchronized (lock) {
      generateRoot.cancel();
    }
  }

  /** The quorum of a completed stored ceremony's shares (which it takes over and zeroizes). */
  private static ShareQuorum quorumOf(SealHeader h, List<UnsealShare> shares) {
    ShareQuorum q = new ShareQuorum(h);
    for (UnsealShare s : shares) {
      q.add(s);
    }
    return q;
  }

  private SealEnvelope openEnvelope(ShareQuorum quorum, String ceremony) {
    byte[] key = null;
    try {
      key = quorum.combine();
      byte[] stored = storage.get(SEAL_ENVELOPE).map(StoredEntry::value)
          .orElseThrow(() -> KeywardenException.precondition("not initialized"));
      return SealEnvelopeCodec.open(stored, key);
    } catch (SealEnvelopeCodec.WrongUnsealKeyException e) {
      throw KeywardenException.invalid("the shares did not reconstruct the unseal key; " + ceremony
          + " progress was reset: submit " + header.threshold() + " valid shares again");
    } finally {
      quorum.clear();
      if (key != null) {
        Arrays.fill(key, (byte) 0);
      }
    }
  }

  private Unsealed openHsm(SealEnvelope envelope) {
    Hsm hsm;
    try {
      hsm = hsmProvider.open(envelope.pin());
    } catch (KeywardenException e) {
      if (e.kind() == Kind.UNAUTHENTICATED) {
        throw new KeywardenException(Kind.FAILED_PRECONDITION, "the HSM refused the PIN kept in the seal envelope "
            + "(was the token's PIN changed?); the server stays sealed: " + e.getMessage(), e);
      }
      throw e;
    }
    try {
      KeyEncryptionKey kek = hsm.kek(envelope.kek());
      return new Unsealed(hsm, kek, new WorkingKeys(storage, kek, workingKeyCapacity));
    } catch (RuntimeException e) {
      hsm.close();
      throw e;
    }
  }

  private SealHeader requireInitialized() {
    SealHeader h = currentHeader();
    if (h == null) {
      throw notInitializedError();
    }
    return h;
  }

  private static void validateSplit(int shares, int threshold, boolean allowSingleShareThreshold) {
    if (shares < 1 || shares > 255) {
      throw KeywardenException.invalid("shares must be 1..255, got " + shares);
    }
    if (threshold < 1 || threshold > shares) {
      throw KeywardenException.invalid("threshold must be 1..shares (" + shares + "), got " + threshold);
    }
    if (threshold == 1 && shares > 1 && !allowSingleShareThreshold) {
      throw KeywardenException.invalid("threshold 1 with " + shares
          + " shares lets any single share unseal; pass allow_single_share_threshold (--allow-single-share) if you mean it");
    }
  }

  private String newNonce() {
    byte[] n = new byte[16];
    random.nextBytes(n);
    return HexFormat.of().formatHex(n);
  }
}
