package dev.keywarden.transit;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmAead;
import dev.keywarden.transit.crypto.Aead;
import dev.keywarden.transit.crypto.Aeads;
import dev.keywarden.transit.crypto.HashAlgorithm;
import dev.keywarden.transit.crypto.KeyDerivation;
import dev.keywarden.transit.crypto.Macs;
import dev.keywarden.transit.crypto.Signatures;
import dev.keywarden.transit.crypto.SigningKey;
import dev.keywarden.transit.crypto.VerifyingKey;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One key version unwrapped in memory, with its primitive built once and shared by every thread. Zeroized on seal
 * ({@link #destroy()}), with the AEAD's own copy; the signing keys' JDK objects built from it are dropped with it.
 */
final class VersionKey {
  final int version;
  final KeyType type;
  private final byte[] material;
  private final Aead aead;
  private final SigningKey signing;
  private final VerifyingKey verifying;
  private final HsmAead hsmAead;
  /**
   * Why the key was zeroized (null while it is not), set before {@link #material} is zeroed (a release fence
   * between): a call that read any zero sees it after, and is told what it says. One field, not a flag and a reason:
   * with a hundred thousand keys loaded, each version's bytes count.
   */
  private volatile Zeroized zeroizedBecause;

  /**
   * Why a loaded key was zeroized. A call that held it fails with what a call made just after would have met, so a
   * client that waits for an unseal on reason SEALED is not sent waiting by a trim or a delete.
   */
  enum Zeroized {
    /** The server sealed: FAILED_PRECONDITION, reason SEALED; retry once unsealed. */
    SEALED,
    /** The transit key was deleted: NOT_FOUND, reason KEY_NOT_FOUND. */
    DELETED,
    /** The version was trimmed (below min_decryption_version, its key gone): FAILED_PRECONDITION. */
    TRIMMED
  }
  private static final VarHandle ENCRYPTIONS;

  static {
    try {
      ENCRYPTIONS = MethodHandles.lookup().findVarHandle(VersionKey.class, "encryptions", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * Random-nonce encryptions this process has handed out for the version: a field of this object, counted through
   * {@link #ENCRYPTIONS}, not an AtomicLong beside it, so that counting touches no memory the encryption does not
   * (with a hundred thousand keys used at random, each separate object is one more cache miss per call).
   */
  private volatile long encryptions;
  /** How many of them this process has reserved in storage; written under this object's monitor. */
  volatile long allowance;
  /** True while a reservation ahead of need is queued or running, so at most one is. */
  final AtomicBoolean reservingAhead = new AtomicBoolean();

  private VersionKey(int version, KeyType type, byte[] material, Aead aead, SigningKey signing,
      VerifyingKey verifying, HsmAead hsmAead) {
    this.version = version;
    this.type = type;
    this.material = material;
    this.aead = aead;
    this.signing = signing;
    this.verifying = verifying;
    this.hsmAead = hsmAead;
  }

  /** Builds the primitive for unwrapped {@code material}, which this object now owns. */
  static VersionKey of(int version, KeyType type, byte[] material, byte[] publicKey) {
    return switch (type.family()) {
      case AEAD -> new VersionKey(version, type, material, type == KeyType.CHACHA20_POLY1305
          ? Aeads.chacha20Poly1305(material) : Aeads.aesGcm(material), null, null, null);
      case SIGNING -> new VersionKey(version, type, material, null, Signatures.signingKey(type, material),
          Signatures.verifyingKey(type, publicKey), null);
      case MAC -> new VersionKey(version, type, material, null, null, null, null);
    };
  }

  /** A version whose key lives in the HSM: nothing secret is held here. */
  static VersionKey inHsm(int version, HsmAead aead) {
    return new VersionKey(version, KeyType.AES256_GCM96_HSM, new byte[0], null, null, null, aead);
  }

  /**
   * Counts one nonce; returns the process-wide count it reaches, which the caller checks against its reservation.
   * One atomic add per encryption: per-thread chunks (a ThreadLocal per version) saved a contended add on a hot key
   * but cost a ThreadLocal entry per thread and version, and with many keys used at random nearly every encryption
   * took a fresh chunk and counted a whole chunk of nonces for one (100,000 keys: 0.15× the rate of 10).
   */
  long takeNonce() {
    return (long) ENCRYPTIONS.getAndAdd(this, 1L) + 1;
  }

  /** The random-nonce encryptions counted so far. */
  long encryptions() {
    return encryptions;
  }

  /** Encrypts with a random nonce (or the HSM). */
  byte[] encrypt(byte[] plaintext, byte[] aad) {
    if (hsmAead != null) {
      return hsmAead.encrypt(plaintext, aad);
    }
    try {
      return aead.encrypt(plaintext, aad);
    } catch (KeywardenException e) {
      throw zeroizedMeanwhile() ? zeroized() : e; // the AEAD only knows that its key was zeroized, not why
    }
  }

  byte[] decrypt(byte[] ciphertext, byte[] aad) {
    if (hsmAead != null) {
      return hsmAead.decrypt(ciphertext, aad);
    }
    try {
      return aead.decrypt(ciphertext, aad);
    } catch (KeywardenException e) {
      throw zeroizedMeanwhile() ? zeroized() : e;
    }
  }

  /** Encrypts with the key derived for {@code context}, under a random nonce (or {@code nonce12}, if given). */
  byte[] encryptDerived(byte[] context, byte[] nonce12, byte[] plaintext, byte[] aad) {
    Aead derived = derived(context);
    try {
      return nonce12 == null ? derived.encrypt(plaintext, aad) : derived.encryptWithNonce(nonce12, plaintext, aad);
    } finally {
      derived.destroy();
    }
  }

  /** Decrypts with the key derived for {@code context}. */
  byte[] decryptDerived(byte[] context, byte[] ciphertext, byte[] aad) {
    Aead derived = derived(context);
    try {
      return derived.decrypt(ciphertext, aad);
    } finally {
      derived.destroy();
    }
  }

  /** The AEAD for a derived key of this version under {@code context}; the caller destroys it. */
  private Aead derived(byte[] context) {
    byte[] key = derivedKey(context);
    try {
      return type == KeyType.CHACHA20_POLY1305 ? Aeads.chacha20Poly1305(key) : Aeads.aesGcm(key);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  /** The derived key bytes for {@code context} (convergent nonces); the caller zeroizes them. */
  byte[] derivedKey(byte[] context) {
    byte[] key = KeyDerivation.derive(material, context);
    if (zeroizedMeanwhile()) {
      Arrays.fill(key, (byte) 0);
      throw zeroized();
    }
    return key;
  }

  /** The HMAC of {@code input} under this version (a MAC type). */
  byte[] hmac(HashAlgorithm hash, byte[] input) {
    byte[] mac = Macs.hmac(material, hash, input);
    if (zeroizedMeanwhile()) {
      throw zeroized();
    }
    return mac;
  }

  /** Checks an HMAC made by this version, in constant time. */
  boolean verifyHmac(HashAlgorithm hash, byte[] input, byte[] mac) {
    boolean ok = Macs.verify(material, hash, input, mac);
    if (zeroizedMeanwhile()) { // a zeroed key would call a good MAC bad
      throw zeroized();
    }
    return ok;
  }

  /**
   * Whether {@link #destroy} ran while the caller read {@link #material}: a key read partly zero would give a
   * derived key or an HMAC under the wrong key, returned as if right (an encryption nothing can decrypt).
   */
  private boolean zeroizedMeanwhile() {
    VarHandle.acquireFence();
    return zeroizedBecause != null;
  }

  private KeywardenException zeroized() {
    return switch (zeroizedBecause) { // non-null: called only once zeroizedMeanwhile()
      case SEALED -> KeywardenException.precondition("sealed: the key was zeroized while the call ran; retry once"
          + " the server is unsealed").withReason("SEALED");
      case DELETED -> KeywardenException.notFound("the transit key was deleted while the call ran")
          .withReason("KEY_NOT_FOUND");
      case TRIMMED -> KeywardenException.precondition("version " + version + " was trimmed while the call ran (below"
          + " min_decryption_version; its key is gone)");
    };
  }

  SigningKey signing() {
    return signing;
  }

  VerifyingKey verifying() {
    return verifying;
  }

  /**
   * Zeroizes the key (seal, delete, trim); a call under way with it fails, saying {@code why}, rather than use a
   * partly zeroed key. A later reason does not replace an earlier one (two at once, e.g. a seal racing a delete, may
   * leave either: both are true).
   */
  void destroy(Zeroized why) {
    if (zeroizedBecause == null) {
      zeroizedBecause = why;
    }
    VarHandle.releaseFence();
    Arrays.fill(material, (byte) 0);
    if (aead != null) {
      aead.destroy();
    }
  }
}
