package dev.keywarden.transit;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.storage.CasRetry;
import dev.keywarden.storage.CacheFeed;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.TimeKeys;
import dev.keywarden.transit.crypto.HashAlgorithm;
import dev.keywarden.transit.crypto.KeyDerivation;
import dev.keywarden.transit.crypto.KeyGeneration;
import dev.keywarden.transit.crypto.Signatures;
import dev.keywarden.transit.crypto.SignatureOptions;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.Unsealed;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transit: named, versioned keyrings and the operations on them. Keyrings are stored under {@code transit/keys/NAME},
 * their material wrapped by the KEK (or, for {@code -hsm} types, held by the HSM). The request path reads an in-memory
 * cache of loaded keyrings and touches neither storage nor the HSM (except for {@code -hsm} types); every change is a
 * compare-and-set on storage followed by replacing the cache entry. Sealing drops and zeroizes the cache.
 */
public final class TransitEngine {
  /** Largest plaintext (or input to sign/HMAC) per item. */
  public static final int MAX_INPUT_BYTES = TransitLimits.MAX_INPUT_BYTES;
  /** Largest context (associated data) per item. */
  public static final int MAX_CONTEXT_BYTES = TransitLimits.MAX_CONTEXT_BYTES;
  /** Random-nonce encryptions reserved (and persisted) at a time per version. */
  static final long NONCE_BLOCK = 1L << 24;
  /** Rotate once a version's reserved random-nonce encryptions reach this (GCM's bound is 2^32). */
  static final long ROTATE_AT = 1L << 30;
  /** Refuse random-nonce encryption with a version past this, whatever happened to rotation. */
  static final long HARD_LIMIT = 1L << 32;
  static final String PREFIX = "transit/keys/";
  /**
   * The scheduled-rotation index: {@code transit/rotation-due/SECONDS/NAME} for every keyring with an
   * auto_rotate_period, SECONDS (zero-padded to 20 digits, so keys sort by time) when its latest version becomes due.
   * Written in the same transaction as the keyring whenever that time changes, so {@link #rotateDue} reads only the
   * entries that are due, not every keyring.
   */
  static final String ROTATION_DUE = "transit/rotation-due/";
  /** Set once the keyrings stored before the index have been put into it. */
  static final String ROTATION_INDEXED = "transit/config/rotation-due-indexed";
  private static final Logger log = LoggerFactory.getLogger(TransitEngine.class);
  /** Keyrings are read ignoring fields this server does not know (written by a newer server in a rolling upgrade). */
  private static final ObjectMapper JSON = new ObjectMapper()
      .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  private static final byte[] NO_CONTEXT = new byte[0];

  private final Core core;
  private final Clock clock;
  private final SecureRandom random;
  private final ConcurrentHashMap<String, LoadedKeyring> cache = new ConcurrentHashMap<>();
  /**
   * Keyrings that changed in storage since they were cached, as the change feed said (a rotate, config change, trim
   * or delete, or a nonce reservation, by this server or another sharing the store): each is read again on its next
   * use and replaced as a change here would be, keeping its unwrapped versions and this server's nonce allowances,
   * so another server's reservation costs one storage read here, never a reservation of our own. A feed reset marks
   * every cached keyring. While storage cannot be read, the cached keyring goes on serving (encrypt and decrypt do
   * not need storage) and is read again once it can be.
   */
  private final java.util.Set<String> changedInStorage = ConcurrentHashMap.newKeySet();
  /** No storage read for a changed keyring before this (System.nanoTime), after one failed. */
  private volatile long refreshNotBefore;
  private final long nonceBlock;
  private final long rotateAt;
  /**
   * What a version's first encryption in this process reserves: enough to start with while a full block is reserved
   * ahead in the background, and a fraction of a block so that restarts do not use up versions.
   */
  private final long firstReservation;
  /**
   * A block is reserved ahead, in the background, once fewer encryptions than this are left: half the first
   * reservation, so that a version's first use reserves once and a key used a few times after a restart costs one
   * storage write, not two (with a hundred thousand keys, that second write per key was a long queue on the
   * reservation thread).
   */
  private final long reserveAheadBelow;
  /**
   * Runs nonce reservations ahead of need, so that encryption with a cached version never waits for storage unless
   * its whole reservation is used up. Its thread ends when idle.
   */
  private final ExecutorService reserver;
  /** True once this process has seen {@link #ROTATION_INDEXED}: no storage read for it on each rotation run. */
  private volatile boolean rotationIndexed;

  public TransitEngine(Core core, Clock clock, SecureRandom random) {
    this(core, clock, random, NONCE_BLOCK, ROTATE_AT);
  }

  /** With a smaller nonce budget, so tests can reach it. */
  TransitEngine(Core core, Clock clock, SecureRandom random, long nonceBlock, long rotateAt) {
    this.core = core;
    this.clock = clock;
    this.random = random;
    this.nonceBlock = nonceBlock;
    this.rotateAt = rotateAt;
    this.firstReservation = Math.max(nonceBlock / 16, Math.min(nonceBlock, 16 * Math.max(1, Math.min(1024,
        nonceBlock / 4))));
    this.reserveAheadBelow = Math.max(1, firstReservation / 2);
    ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
      Thread t = new Thread(r, "transit-nonce-reserver");
      t.setDaemon(true);
      return t;
    });
    pool.allowCoreThreadTimeOut(true);
    this.reserver = pool;
    // Nothing is read at unseal: a keyring is loaded (and its first nonces reserved) on its first use, so unsealing
    // costs the same with ten keyrings or a hundred thousand.
    core.addSealListener(this::dropCache);
    CacheFeed.watch(core.storage(), PREFIX, name -> {
      if (cache.containsKey(name)) {
        changedInStorage.add(name);
      }
    }, () -> changedInStorage.addAll(cache.keySet()));
  }

  // ---- keyring management -------------------------------------------------------------------------------------

  /** Creates a keyring with its first version. ALREADY_EXISTS when the name is taken. */
  public Keyring createKey(String name, KeyType type, KeyringConfig config) {
    validateName(name);
    if (config.convergent() && !config.derived()) {
      throw KeywardenException.invalid("convergent encryption needs a derived key: set derived too");
    }
    if ((config.derived() || config.convergent()) && type.family() != KeyType.Family.AEAD) {
      throw KeywardenException.invalid("derived and convergent apply to encryption keys, not " + type.typeName());
    }
    if (config.derived() && type.inHsm()) {
      throw KeywardenException.invalid("derived keys cannot be " + type.typeName() + ": derivation needs the key bytes");
    }
    if (config.autoRotatePeriodSeconds() < 0) {
      throw KeywardenException.invalid("auto_rotate_period must not be negative");
    }
    Unsealed u = core.unsealed();
    KeyringConfig initial = new KeyringConfig(config.derived(), config.convergent(), config.deletionAllowed(),
        config.autoRotatePeriodSeconds(), 1, 1);
    KeyVersion first = newVersion(u, name, type, 1, reservedAtCreation(type, initial));
    Keyring keyring = new Keyring(name, type.typeName(), clock.millis(), initial, List.of(first));
    if (!storeKeyring(name, 0, null, keyring)) {
      discard(u, first);
      throw KeywardenException.alreadyExists("a transit key named '" + name + "' already exists");
    }
    cache.remove(name);
    takeCreationReservation(name, first);
    log.info("transit key '{}' created ({})", name, type.typeName());
    return keyring;
  }

  /** The keyring; NOT_FOUND when there is none. */
  public Keyring getKey(String name) {
    return loaded(name).keyring;
  }

  /**
   * One page of the keyring names, sorted: at most {@code limit} after {@code after} ("" for the first page). One
   * range read of storage, however many keyrings there are.
   */
  public List<String> listKeys(String after, int limit) {
    core.unsealed();
    if (!after.isEmpty()) {
      try {
        checkName(after);
      } catch (KeywardenException e) {
        throw e.withField("after");
      }
    }
    return core.storage().list(PREFIX, after.isEmpty() ? "" : PREFIX + after, limit).stream()
        .map(k -> k.substring(PREFIX.length())).toList();
  }

  /** Adds a new latest version. Concurrent rotations each add their own version. */
  public Keyring rotate(String name) {
    return rotate(name, Long.MIN_VALUE).orElseThrow();
  }

  /**
   * Adds a new latest version; with {@code dueAtMillis} other than {@code Long.MIN_VALUE}, only if the keyring as
   * it is read (in the same compare-and-set loop) is due for scheduled rotation by then, so a rotation racing a
   * config change or another rotation never rotates what is no longer due. Empty when it was not.
   */
  private Optional<Keyring> rotate(String name, long dueAtMillis) {
    Unsealed u = core.unsealed();
    KeyVersion[] made = new KeyVersion[1];
    try {
      Keyring result = change(name, k -> {
        if (made[0] != null && made[0].version() != k.latestVersion() + 1) {
          discard(u, made[0]);
          made[0] = null;
        }
        if (dueAtMillis != Long.MIN_VALUE && !isDue(k, dueAtMillis)) {
          return null;
        }
        if (made[0] == null) {
          made[0] = newVersion(u, name, k.keyType(), k.latestVersion() + 1,
              reservedAtCreation(k.keyType(), k.config()));
        }
        return k.withVersion(made[0]);
      });
      if (made[0] == null || result.encryptionVersion() != made[0]) {
        if (made[0] != null) {
          discard(u, made[0]); // made on an attempt that lost its race, then found the keyring no longer due
        }
        return Optional.empty();
      }
      takeCreationReservation(name, made[0]);
      log.info("transit key '{}' rotated to version {}", name, result.latestVersion());
      return Optional.of(result);
    } catch (RuntimeException e) {
      if (made[0] != null) {
        discard(u, made[0]);
      }
      throw e;
    }
  }

  /** What a config update may change; null leaves a setting as it is. */
  public record ConfigChange(Integer minDecryptionVersion, Integer minEncryptionVersion, Boolean deletionAllowed,
                             Long autoRotatePeriodSeconds) {}

  /** Changes settings; INVALID_ARGUMENT names the setting that cannot take the value. */
  public Keyring updateConfig(String name, ConfigChange change) {
    return change(name, k -> {
      KeyringConfig c = k.config();
      int minDec = change.minDecryptionVersion() != null ? change.minDecryptionVersion() : c.minDecryptionVersion();
      int minEnc = change.minEncryptionVersion() != null ? change.minEncryptionVersion() : c.minEncryptionVersion();
      if (minDec < 1 || minDec > k.latestVersion()) {
        throw KeywardenException.invalid("min_decryption_version must be 1.." + k.latestVersion() + ", got " + minDec);
      }
      if (minDec < k.oldestVersion()) {
        throw KeywardenException.invalid("min_decryption_version " + minDec + " is below the oldest kept version "
            + k.oldestVersion() + " (trimmed versions cannot come back)");
      }
      if (minEnc < 1 || minEnc > k.latestVersion()) {
        throw KeywardenException.invalid("min_encryption_version must be 1.." + k.latestVersion() + ", got " + minEnc);
      }
      long period = change.autoRotatePeriodSeconds() != null ? change.autoRotatePeriodSeconds()
          : c.autoRotatePeriodSeconds();
      if (period < 0) {
        throw KeywardenException.invalid("auto_rotate_period must not be negative");
      }
      boolean deletable = change.deletionAllowed() != null ? change.deletionAllowed() : c.deletionAllowed();
      return k.withConfig(new KeyringConfig(c.derived(), c.convergent(), deletable, period, minDec, minEnc));
    });
  }

  /** Drops versions below min_decryption_version for good. */
  public Keyring trim(String name) {
    Unsealed u = core.unsealed();
    Keyring before = loaded(name).keyring;
    Keyring after = change(name, k -> {
      if (k.minDecryptionVersion() <= k.oldestVersion()) {
        throw KeywardenException.precondition("nothing to trim: raise min_decryption_version above "
            + k.oldestVersion() + " first");
      }
      return k.withVersionsFrom(k.minDecryptionVersion());
    });
    before.versions().stream().filter(v -> v.version() < after.oldestVersion()).forEach(v -> discard(u, v));
    log.info("transit key '{}' trimmed below version {}", name, after.oldestVersion());
    return after;
  }

  /** Deletes a keyring; FAILED_PRECONDITION unless deletion_allowed is set. */
  public void delete(String name) {
    Unsealed u = core.unsealed();
    StoredEntry entry = stored(name);
    Keyring k = decode(entry.value());
    if (!k.config().deletionAllowed()) {
      throw KeywardenException.precondition("transit key '" + name
          + "' is protected: set deletion_allowed first (keywarden transit config " + name + " --deletion-allowed)");
    }
    core.storage().atomically(tx -> {
      Optional<StoredEntry> now = tx.get(PREFIX + name);
      if (now.isEmpty() || now.get().version() != entry.version()) {
        throw KeywardenException.precondition("transit key '" + name + "' changed while being deleted; try again");
      }
      tx.delete(PREFIX + name);
      dueKey(k).ifPresent(tx::delete);
      return null;
    });
    LoadedKeyring gone = cache.remove(name);
    k.versions().forEach(v -> discard(u, v));
    if (gone != null) {
      gone.destroy(VersionKey.Zeroized.DELETED);
    }
    log.info("transit key '{}' deleted", name);
  }

  // ---- encryption -----------------------------------------------------------------------------------------------

  /** Encrypts under the latest version; returns `kw:v<version>:<base64>`. */
  public String encrypt(String name, byte[] plaintext, byte[] context) {
    return new String(encryptAscii(name, plaintext, context), StandardCharsets.ISO_8859_1);
  }

  /** {@link #encrypt}, returning the ciphertext text as US-ASCII bytes (what the server puts on the wire). */
  public byte[] encryptAscii(String name, byte[] plaintext, byte[] context) {
    checkInput("plaintext", plaintext);
    TransitLimits.context(context);
    LoadedKeyring l = requireFamily(name, KeyType.Family.AEAD, "encrypt");
    // the latest version's key straight from the loaded keyring: no keyring, version or map is read per call
    VersionKey key = l.latest();
    if (key == null) {
      key = versionKey(l, l.keyring.encryptionVersion());
    }
    byte[] aad = context(l, context);
    byte[] out;
    if (l.derived) {
      if (l.keyring.config().convergent()) {
        byte[] derived = key.derivedKey(aad);
        try {
          out = key.encryptDerived(aad, KeyDerivation.convergentNonce(derived, plaintext, aad), plaintext, aad);
        } finally {
          Arrays.fill(derived, (byte) 0);
        }
      } else {
        countNonce(name, key);
        out = key.encryptDerived(aad, null, plaintext, aad);
      }
    } else {
      countNonce(name, key);
      out = key.encrypt(plaintext, aad);
    }
    return Ciphertexts.formatAscii(key.version, out);
  }

  /**
   * Whether an encryption with {@code name} would run now without waiting on storage or the HSM: the keyring and its
   * latest version loaded, a software key, not marked changed in storage, and nonces reserved ahead of need (true too
   * when it would fail at once: sealed, a key of another family). A false answer costs nothing but a thread hand-off:
   * the server then runs the call on a pool instead of the event loop that read it.
   */
  public boolean encryptsWithoutWaiting(String name) {
    return withoutWaiting(name, 0);
  }

  /** As {@link #encryptsWithoutWaiting}, for a decryption of a ciphertext of {@code version}. */
  public boolean decryptsWithoutWaiting(String name, int version) {
    return version < 1 || withoutWaiting(name, version);
  }

  private boolean withoutWaiting(String name, int version) {
    if (core.isSealed()) {
      return true;
    }
    LoadedKeyring l = cache.get(name);
    if (l == null || l.type.inHsm() || (!changedInStorage.isEmpty() && changedInStorage.contains(name))) {
      return false;
    }
    if (l.type.family() != KeyType.Family.AEAD) {
      return true;
    }
    VersionKey key = version == 0 ? l.latest() : l.loadedVersion(version);
    if (key == null) {
      return false;
    }
    // a reservation is made in the background well before this runs low; below it, one may be made on the spot
    return version != 0 || key.allowance - key.encryptions() >= reserveAheadBelow;
  }

  /** Decrypts a ciphertext of any version ≥ min_decryption_version; the caller zeroizes the result. */
  public byte[] decrypt(String name, String ciphertext, byte[] context) {
    TransitLimits.context(context);
    TransitLimits.ciphertext("ciphertext", ciphertext == null ? 0 : ciphertext.length());
    LoadedKeyring l = requireFamily(name, KeyType.Family.AEAD, "decrypt");
    return decrypt(l, Ciphertexts.parse(ciphertext), context);
  }

  /** {@link #decrypt} of the ciphertext text's US-ASCII bytes (as it comes off the wire). */
  public byte[] decryptAscii(String name, byte[] ciphertext, byte[] context) {
    TransitLimits.context(context);
    TransitLimits.ciphertext("ciphertext", ciphertext == null ? 0 : ciphertext.length);
    LoadedKeyring l = requireFamily(name, KeyType.Family.AEAD, "decrypt");
    return decrypt(l, Ciphertexts.parseAscii(ciphertext), context);
  }

  private byte[] decrypt(LoadedKeyring l, Ciphertexts.Parsed parsed, byte[] context) {
    Keyring k = l.keyring;
    VersionKey key = versionKey(l, k.version(parsed.version()));
    byte[] aad = context(l, context);
    return l.derived ? key.decryptDerived(aad, parsed.bytes(), aad) : key.decrypt(parsed.bytes(), aad);
  }

  /** Decrypts and encrypts again under the latest version; the plaintext never leaves the engine. */
  public String rewrap(String name, String ciphertext, byte[] context) {
    byte[] plaintext = decrypt(name, ciphertext, context);
    try {
      return encrypt(name, plaintext, context);
    } finally {
      Arrays.fill(plaintext, (byte) 0);
    }
  }

  /** {@link #rewrap} on US-ASCII ciphertext text, in and out. */
  public byte[] rewrapAscii(String name, byte[] ciphertext, byte[] context) {
    byte[] plaintext = decryptAscii(name, ciphertext, context);
    try {
      return encryptAscii(name, plaintext, context);
    } finally {
      Arrays.fill(plaintext, (byte) 0);
    }
  }

  /** A new random data key, and the same encrypted under the latest version. */
  public record DataKey(byte[] plaintext, String ciphertext) {
    @Override
    public String toString() {
      return "DataKey[" + ciphertext + "]";
    }
  }

  /** Makes a data key of 128, 256 or 512 bits; the caller zeroizes its plaintext. */
  public DataKey dataKey(String name, int bits, byte[] context) {
    if (bits != 128 && bits != 256 && bits != 512) {
      throw KeywardenException.invalid("bits must be 128, 256 or 512, got " + bits);
    }
    byte[] key = new byte[bits / 8];
    random.nextBytes(key);
    return new DataKey(key, encrypt(name, key, context));
  }

  // ---- signing and HMAC -----------------------------------------------------------------------------------------

  /** A signature `kw:v<version>:<base64>` and the version that made it. */
  public record Signed(String signature, int version) {}

  /** Signs with the latest version (or {@code version} when > 0). */
  public Signed sign(String name, byte[] input, SignatureOptions options, int version) {
    checkInput("input", input);
    LoadedKeyring l = requireFamily(name, KeyType.Family.SIGNING, "sign");
    KeyVersion kv = version > 0 ? l.keyring.version(version) : l.keyring.encryptionVersion();
    byte[] signature = versionKey(l, kv).signing().sign(input, options);
    return new Signed(Ciphertexts.format(kv.version(), signature), kv.version());
  }

  /** Verifies a signature made by any version ≥ min_decryption_version. */
  public boolean verify(String name, byte[] input, String signature, SignatureOptions options) {
    checkInput("input", input);
    TransitLimits.ciphertext("signature", signature == null ? 0 : signature.length());
    LoadedKeyring l = requireFamily(name, KeyType.Family.SIGNING, "verify");
    Ciphertexts.Parsed parsed = parseTagged(signature, "signature");
    return versionKey(l, l.keyring.version(parsed.version())).verifying().verify(input, parsed.bytes(), options);
  }

  /** The public key (SubjectPublicKeyInfo DER) of a signing key's version. */
  public byte[] publicKey(String name, int version) {
    LoadedKeyring l = requireFamily(name, KeyType.Family.SIGNING, "read the public key of");
    return l.keyring.version(version).publicKey().clone();
  }

  /** HMAC with the latest version (or {@code version} when > 0) of an hmac key; `kw:v<version>:<base64>`. */
  public String hmac(String name, byte[] input, HashAlgorithm hash, int version) {
    checkInput("input", input);
    LoadedKeyring l = requireFamily(name, KeyType.Family.MAC, "compute an HMAC with");
    KeyVersion kv = version > 0 ? l.keyring.version(version) : l.keyring.encryptionVersion();
    return Ciphertexts.format(kv.version(), versionKey(l, kv).hmac(hash, input));
  }

  /** Checks an HMAC made by any version ≥ min_decryption_version (constant time). */
  public boolean verifyHmac(String name, byte[] input, String mac, HashAlgorithm hash) {
    checkInput("input", input);
    TransitLimits.ciphertext("hmac", mac == null ? 0 : mac.length());
    LoadedKeyring l = requireFamily(name, KeyType.Family.MAC, "verify an HMAC with");
    Ciphertexts.Parsed parsed = parseTagged(mac, "hmac");
    return versionKey(l, l.keyring.version(parsed.version())).verifyHmac(hash, input, parsed.bytes());
  }

  // ---- auto-rotation ---------------------------------------------------------------------------------------------

  /** Index entries (or, building the index, keyrings) read per page by {@link #rotateDue}. */
  static final int ROTATION_PAGE = 500;
  /** Digits of the time in a {@link #ROTATION_DUE} key: every non-negative long fits. */
  private static final int DUE_DIGITS = 20;
  /** A due time past any real one (a period so long that the sum would overflow). */
  private static final long MAX_DUE_SECONDS = Long.MAX_VALUE / 1000;

  /**
   * Rotates every keyring whose latest version is older than its auto_rotate_period; returns how many. Reads the
   * {@link #ROTATION_DUE} entries up to now, a page at a time, and only the keyrings they name: its cost follows the
   * keyrings due, not the keyrings stored. The first run on a store written before the index puts the existing
   * keyrings into it, once.
   */
  public int rotateDue() {
    if (core.isSealed()) {
      return 0;
    }
    indexRotationsOnce();
    long now = clock.millis();
    long nowSeconds = Math.floorDiv(now, 1000);
    int rotated = 0;
    String after = "";
    while (true) {
      core.unsealed();
      List<String> page = core.storage().list(ROTATION_DUE, after, ROTATION_PAGE);
      for (String entry : page) {
        int slash = entry.indexOf('/', ROTATION_DUE.length());
        if (TimeKeys.seconds(ROTATION_DUE, entry) > nowSeconds) {
          return rotated; // sorted by time: everything after this is not due yet
        }
        String name = entry.substring(slash + 1);
        try {
          if (rotate(name, now).isPresent()) {
            rotated++;
          }
        } catch (KeywardenException e) {
          if (e.kind() != KeywardenException.Kind.NOT_FOUND) {
            log.warn("auto-rotation of transit key '{}' skipped: {}", name, e.getMessage());
          }
        }
        dropStale(entry, name);
      }
      if (page.size() < ROTATION_PAGE) {
        return rotated;
      }
      after = page.get(page.size() - 1);
    }
  }

  /**
   * Deletes index entry {@code entry} unless it is the one keyring {@code name} has now: an entry left behind by a
   * change the index missed (a keyring deleted or changed by a server from before the index) is dropped, in the
   * same transaction that reads the keyring, so a keyring that is due keeps its entry.
   */
  private void dropStale(String entry, String name) {
    core.storage().atomically(tx -> {
      Optional<StoredEntry> k = tx.get(PREFIX + name);
      if (k.isEmpty() || !dueKey(decode(k.get().value())).equals(Optional.of(entry))) {
        tx.delete(entry);
      }
      return null;
    });
  }

  /**
   * Puts the keyrings stored before the rotation index into it, once per store ({@link #ROTATION_INDEXED} says it is
   * done): each page's keyrings are read and indexed in one transaction, so a change racing it either comes before
   * (and is read here) or after (and moves the entry written here).
   */
  private void indexRotationsOnce() {
    if (rotationIndexed) {
      return;
    }
    if (core.storage().get(ROTATION_INDEXED).isPresent()) {
      rotationIndexed = true;
      return;
    }
    String after = "";
    int indexed = 0;
    while (true) {
      List<String> page = core.storage().list(PREFIX, after, ROTATION_PAGE);
      indexed += core.storage().atomically(tx -> {
        int n = 0;
        for (String key : page) {
          Optional<String> due = tx.get(key).flatMap(e -> dueKey(decode(e.value())));
          if (due.isPresent() && tx.get(due.get()).isEmpty()) {
            tx.put(due.get(), key.substring(PREFIX.length()).getBytes(StandardCharsets.UTF_8));
            n++;
          }
        }
        if (page.size() < ROTATION_PAGE) {
          tx.put(ROTATION_INDEXED, new byte[0]);
        }
        return n;
      });
      if (page.size() < ROTATION_PAGE) {
        rotationIndexed = true;
        log.info("transit rotation index checked: {} keyrings from before it added", indexed);
        return;
      }
      after = page.get(page.size() - 1);
    }
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  private LoadedKeyring loaded(String name) {
    core.unsealed();
    LoadedKeyring l = cache.get(name);
    if (l != null) {
      return changedInStorage.isEmpty() || !changedInStorage.contains(name) ? l : refreshed(name, l);
    }
    validateName(name);
    return cache.computeIfAbsent(name, n -> {
      StoredEntry entry = stored(n);
      return new LoadedKeyring(decode(entry.value()), entry.version(), new LoadedKeyring.Versions());
    });
  }

  /** {@code cached} after reading its keyring again (see {@link #changedInStorage}); NOT_FOUND once deleted. */
  private LoadedKeyring refreshed(String name, LoadedKeyring cached) {
    if (System.nanoTime() - refreshNotBefore < 0) {
      return cached;
    }
    changedInStorage.remove(name); // before the read: a change committed after it marks the keyring again
    Optional<StoredEntry> entry;
    try {
      entry = core.storage().get(PREFIX + name);
    } catch (KeywardenException e) {
      if (e.kind() != KeywardenException.Kind.UNAVAILABLE) {
        throw e;
      }
      changedInStorage.add(name);
      refreshNotBefore = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
      return cached;
    }
    if (entry.isEmpty()) {
      LoadedKeyring gone = cache.remove(name);
      if (gone != null) {
        gone.destroy(VersionKey.Zeroized.DELETED);
      }
      throw KeywardenException.notFound("no transit key named '" + name + "'").withReason("KEY_NOT_FOUND");
    }
    Keyring now = decode(entry.get().value());
    long at = entry.get().version();
    LoadedKeyring next = cache.computeIfPresent(name, (n, old) -> old.next(now, at));
    return next != null ? next : loaded(name);
  }

  private LoadedKeyring requireFamily(String name, KeyType.Family family, String operation) {
    LoadedKeyring l = loaded(name);
    if (l.type.family() != family) {
      throw KeywardenException.invalid("cannot " + operation + " with key '" + name + "' of type "
          + l.type.typeName() + "; use a key of a " + family.name().toLowerCase() + " type");
    }
    return l;
  }

  private StoredEntry stored(String name) {
    return core.storage().get(PREFIX + name)
        .orElseThrow(() -> KeywardenException.notFound("no transit key named '" + name + "'")
            .withReason("KEY_NOT_FOUND"));
  }

  /**
   * Applies {@code edit} with compare-and-set until it lands, then replaces the cached keyring. An edit that returns
   * null changes nothing (the keyring as read is returned).
   */
  private Keyring change(String name, UnaryOperator<Keyring> edit) {
    core.unsealed();
    validateName(name);
    return CasRetry.untilStored("transit key '" + name + "'", () -> {
      StoredEntry entry = stored(name);
      Keyring current = decode(entry.value());
      Keyring next = edit.apply(current);
      if (next == null) {
        return Optional.of(current);
      }
      if (!storeKeyring(name, entry.version(), current, next)) {
        return Optional.empty();
      }
      long storedAt = entry.version() + 1; // compare-and-set raises the entry's version by one
      cache.compute(name, (n, old) -> old == null ? null : old.next(next, storedAt));
      return Optional.of(next);
    });
  }

  /**
   * Writes {@code next} over {@code current} (stored at {@code expectedVersion}; 0 and null for a new keyring) with
   * compare-and-set; false when it lost the race. When the time the keyring is due for scheduled rotation moves, its
   * {@link #ROTATION_DUE} entry moves in the same transaction; otherwise (a nonce reservation, a trim) it is the one
   * write it always was.
   */
  private boolean storeKeyring(String name, long expectedVersion, Keyring current, Keyring next) {
    Optional<String> before = current == null ? Optional.empty() : dueKey(current);
    Optional<String> after = dueKey(next);
    byte[] value = encode(next);
    if (before.equals(after)) {
      return core.storage().compareAndSet(PREFIX + name, expectedVersion, value);
    }
    return core.storage().atomically(tx -> {
      if (!tx.compareAndSet(PREFIX + name, expectedVersion, value)) {
        return false;
      }
      before.ifPresent(tx::delete);
      after.ifPresent(k -> tx.put(k, name.getBytes(StandardCharsets.UTF_8)));
      return true;
    });
  }

  /** Whether the keyring's latest version is older than its auto_rotate_period at {@code nowMillis}. */
  private static boolean isDue(Keyring k, long nowMillis) {
    long period = k.config().autoRotatePeriodSeconds();
    return period > 0 && dueSeconds(k) * 1000 <= nowMillis;
  }

  /**
   * The second from which the keyring is due for scheduled rotation (its latest version's creation, rounded up to a
   * whole second, plus the period); only for a positive period.
   */
  private static long dueSeconds(Keyring k) {
    long created = Math.floorDiv(k.encryptionVersion().createTime() + 999, 1000);
    long period = k.config().autoRotatePeriodSeconds();
    return period > MAX_DUE_SECONDS - created ? MAX_DUE_SECONDS : created + period;
  }

  /** The keyring's {@link #ROTATION_DUE} key; empty when it has no auto_rotate_period. */
  static Optional<String> dueKey(Keyring k) {
    if (k.config().autoRotatePeriodSeconds() <= 0) {
      return Optional.empty();
    }
    return Optional.of(TimeKeys.start(ROTATION_DUE, dueSeconds(k), DUE_DIGITS).append('/').append(k.name())
        .toString());
  }

  private VersionKey versionKey(LoadedKeyring l, KeyVersion kv) {
    VersionKey key = l.loadedVersion(kv.version());
    if (key != null) {
      return key;
    }
    key = l.version(kv.version(), v -> load(l.type, kv)); // the lambda only on a first use
    if (key == null) { // unloaded while loading: sealed (this throws so) or deleted
      core.unsealed();
      throw KeywardenException.notFound("transit key '" + l.keyring.name() + "' was deleted")
          .withReason("KEY_NOT_FOUND");
    }
    return key;
  }

  private VersionKey load(KeyType type, KeyVersion kv) {
    Unsealed u = core.unsealed();
    if (type.inHsm()) {
      return VersionKey.inHsm(kv.version(), u.hsm().aesKey(new HsmKeyId(kv.hsmLabel(), kv.hsmId())));
    }
    return VersionKey.of(kv.version(), type, u.kek().unwrap(kv.wrapped()), kv.publicKey());
  }

  /**
   * Random-nonce encryptions a new version is created with: one block for keys that count them, reserved in the
   * same write that creates the version, so its first encryptions never wait for storage.
   */
  private long reservedAtCreation(KeyType type, KeyringConfig config) {
    return type.family() == KeyType.Family.AEAD && !config.convergent() ? nonceBlock : 0;
  }

  private KeyVersion newVersion(Unsealed u, String name, KeyType type, int version, long reserved) {
    long now = clock.millis();
    if (type.inHsm()) {
      byte[] suffix = new byte[4];
      random.nextBytes(suffix);
      HsmKeyId id = u.hsm().generateAesKey("kw-transit-" + name + "-v" + version + "-"
          + HexFormat.of().formatHex(suffix));
      return new KeyVersion(version, now, null, id.label(), id.idHex(), null, reserved);
    }
    byte[] material = KeyGeneration.generate(type, random);
    try {
      byte[] publicKey = type.family() == KeyType.Family.SIGNING
          ? Signatures.signingKey(type, material).publicKeyDer() : null;
      return new KeyVersion(version, now, u.kek().wrap(material), null, null, publicKey, reserved);
    } finally {
      Arrays.fill(material, (byte) 0);
    }
  }

  /** Destroys what a version holds outside storage (its HSM key); best effort. */
  private void discard(Unsealed u, KeyVersion v) {
    if (v.hsmLabel() != null) {
      try {
        u.hsm().destroyKey(new HsmKeyId(v.hsmLabel(), v.hsmId()));
      } catch (KeywardenException e) {
        log.warn("could not destroy HSM key '{}': {}", v.hsmLabel(), e.getMessage());
      }
    }
  }

  /**
   * Counts a random-nonce encryption. This process may use the version's nonces in blocks it first reserves in
   * storage, so restarts never lose count; past {@link #ROTATE_AT} reserved the key rotates. Reservations are made
   * ahead of need, in the background, once less than {@link #reserveAheadBelow} is left; only an encryption past everything
   * reserved waits for storage (GCM's nonce bound comes before latency).
   */
  private void countNonce(String name, VersionKey key) {
    long used = key.takeNonce();
    long allowance = key.allowance;
    if (used <= allowance) {
      if (allowance - used < reserveAheadBelow) {
        reserveAhead(name, key);
      }
      return;
    }
    synchronized (key) {
      if (used <= key.allowance) {
        return;
      }
      long needed = used - key.allowance;
      // A version's first use in this process (after unseal, or one made by another server) reserves a start, and
      // its next encryption reserves a full block ahead in the background; otherwise whole blocks until the
      // reservation covers everything counted so far.
      reserve(name, key, key.allowance == 0 && needed <= firstReservation ? firstReservation
          : ((needed + nonceBlock - 1) / nonceBlock) * nonceBlock);
    }
  }

  /** Reserves the next block in the background, unless a reservation ahead is already queued or running. */
  private void reserveAhead(String name, VersionKey key) {
    if (!key.reservingAhead.compareAndSet(false, true)) {
      return;
    }
    boolean queued = runInBackground(() -> {
      try {
        synchronized (key) {
          if (key.allowance - key.encryptions() < reserveAheadBelow && !core.isSealed()) {
            reserve(name, key, nonceBlock);
          }
        }
      } finally {
        key.reservingAhead.set(false);
      }
    });
    if (!queued) {
      key.reservingAhead.set(false);
    }
  }

  /**
   * Adds {@code add} to the version's reservation in storage, then lets this process use it; rotates the key when the
   * version's reservation reaches {@link #ROTATE_AT}. The caller holds {@code key}'s monitor.
   */
  private void reserve(String name, VersionKey key, long add) {
    long[] reserved = new long[1];
    change(name, k -> {
      KeyVersion v = k.version(key.version);
      reserved[0] = v.encryptionsReserved() + add;
      if (reserved[0] > HARD_LIMIT) {
        throw KeywardenException.precondition("version " + key.version + " of key '" + name
            + "' has used up its safe number of random-nonce encryptions; rotate the key");
      }
      return k.replacing(v.withEncryptionsReserved(reserved[0]));
    });
    key.allowance += add;
    if (reserved[0] >= rotateAt && loaded(name).keyring.latestVersion() == key.version) {
      log.info("transit key '{}' version {} reached {} reserved encryptions: rotating", name, key.version,
          reserved[0]);
      rotate(name);
    }
  }

  /**
   * Hands the block a new version was created with to this process, loading the version now rather than on the
   * first encryption. Only this process wrote that block, so it is credited once.
   */
  private void takeCreationReservation(String name, KeyVersion created) {
    if (created.encryptionsReserved() == 0) {
      return;
    }
    try {
      LoadedKeyring l = loaded(name);
      VersionKey key = versionKey(l, l.keyring.version(created.version()));
      synchronized (key) {
        key.allowance += created.encryptionsReserved();
      }
    } catch (KeywardenException e) {
      // e.g. sealed or deleted meanwhile: the block is only left unused, and the first encryption reserves its own
      log.warn("transit key '{}' version {}: could not keep the nonces reserved at creation: {}", name,
          created.version(), e.getMessage());
    }
  }

  /** Queues {@code work} on the reservation thread; false when it cannot take it. Failures are logged there. */
  private boolean runInBackground(Runnable work) {
    try {
      reserver.execute(() -> {
        try {
          work.run();
        } catch (RuntimeException e) {
          if (!core.isSealed()) {
            log.warn("reserving transit nonces in the background failed (the next encryption that needs them will "
                + "reserve them itself): {}", e.getMessage());
          }
        }
      });
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  private static byte[] context(LoadedKeyring l, byte[] context) {
    byte[] c = context == null ? NO_CONTEXT : context;
    if (l.derived && c.length == 0) {
      throw KeywardenException.invalid("key '" + l.keyring.name() + "' is derived: a context is required");
    }
    return c;
  }

  private static void checkInput(String what, byte[] input) {
    if (input == null) {
      throw KeywardenException.invalid(what + " is missing");
    }
    TransitLimits.input(what, input);
  }

  private static Ciphertexts.Parsed parseTagged(String value, String what) {
    try {
      return Ciphertexts.parse(value);
    } catch (KeywardenException e) {
      throw KeywardenException.invalid(e.getMessage().replace("ciphertext", what));
    }
  }

  /** Checks a transit key name (before it names a resource a policy is matched against); returns it. */
  public static String checkName(String name) {
    return Inputs.name("a transit key name", name);
  }

  private static void validateName(String name) {
    checkName(name);
  }

  private static byte[] encode(Keyring k) {
    try {
      return JSON.writeValueAsBytes(k);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Keyring decode(byte[] stored) {
    try {
      return JSON.readValue(stored, Keyring.class);
    } catch (IOException e) {
      throw KeywardenException.precondition("a stored transit keyring is damaged");
    }
  }

  private void dropCache() {
    List<LoadedKeyring> all = new ArrayList<>(cache.values());
    cache.clear();
    all.forEach(l -> l.destroy(VersionKey.Zeroized.SEALED));
  }

  static String base64(byte[] b) {
    return Base64.getEncoder().encodeToString(b);
  }
}
