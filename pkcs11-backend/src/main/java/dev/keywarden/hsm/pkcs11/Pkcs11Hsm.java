package dev.keywarden.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_AES;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_KEY_GEN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_PRIVATE_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_PUBLIC_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_SECRET_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_KEY_HANDLE_INVALID;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_OBJECT_HANDLE_INVALID;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmAead;
import dev.keywarden.hsm.HsmHealth;
import dev.keywarden.hsm.HsmInfo;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.hsm.KeyPairAlgorithm;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.TokenException;

/**
 * A logged-in PKCS#11 token with a pool of sessions. Every call goes through {@link #call}, which runs it on the
 * {@link Pkcs11Connection}: that reconnects when the token went away and came back, and fails cleanly with
 * FAILED_PRECONDITION once closed (sealed). Keys are held as {@link KeyHandle}s, found again by label and id after a
 * reconnect.
 *
 * <p>Token objects are created and destroyed one at a time, and never while a search runs ({@link #tokenObjects}).
 * SoftHSM2 2.6.1's file object
 * store is not safe for concurrent writers in one process: it writes the new object file before taking its token
 * mutex, reads its object set unlocked in C_DestroyObject, and its fcntl file locks do not exclude threads of the same
 * process. Measured with 32 threads making (and every other one destroying) 5 token AES keys each through a 16-session
 * pool ({@code Pkcs11ConcurrentKeyGenerationTest}): 5 of 160 failed with CKR_GENERAL_ERROR before this lock (11 of 160
 * in the server's 32-rotation run), 0 of 160 with it; but a search (C_FindObjects re-indexes the token directory)
 * racing a write still cost an occasional CKR_GENERAL_ERROR and a reconnect (1 in a clean-clone CI run), so searches
 * take the read side of the same lock. Sessions are not shared: the wrapper's pool lends each session to one thread at
 * a time. Searches run in parallel with each other, and encrypt and sign with found handles take no lock at all.
 */
public final class Pkcs11Hsm implements Hsm {

  private static final Logger LOG = LoggerFactory.getLogger(Pkcs11Hsm.class);
  private static final int KEK_BYTES = 32;
  private static final int KEK_ID_BYTES = 16;
  private static final int AES_KEY_BYTES = 32;
  private static final int AES_KEY_ID_BYTES = 16;
  private static final int KEY_PAIR_ID_BYTES = 16;

  private final HsmInfo info;
  private final Pkcs11Connection connection;
  private final Runnable onClose;
  private final boolean paddingDefect;
  private final SecureRandom random = new SecureRandom();
  /** Writes of token objects (create, destroy) exclude each other and every search; searches run in parallel. */
  private final ReentrantReadWriteLock tokenObjects = new ReentrantReadWriteLock();

  Pkcs11Hsm(HsmInfo info, Pkcs11Connection connection, boolean paddingDefect, Runnable onClose) {
    this.paddingDefect = paddingDefect;
    this.info = info;
    this.connection = connection;
    this.onClose = onClose;
  }

  @Override
  public HsmInfo info() {
    return info;
  }

  @Override
  public HsmHealth health() {
    return connection.health();
  }

  @Override
  public KekIdentity generateKek(String label) {
    requireLabel(label, "KEK label");
    byte[] id = newId(KEK_ID_BYTES);
    generateOnce("generating KEK '" + label + "'", label, id, token -> token.generateKey(
        new Mechanism(CKM_AES_KEY_GEN), AttributeVector.newSecretKey(CKK_AES)
            .token(true).private_(true).sensitive(true).extractable(false)
            .wrap(true).unwrap(true)
            .encrypt(false).decrypt(false).sign(false).verify(false).derive(false)
            .valueLen(KEK_BYTES).label(label).id(id)));
    KekIdentity identity = new KekIdentity(label, HexFormat.of().formatHex(id));
    LOG.info("generated KEK '{}' (id {}) on token '{}'", label, identity.idHex(), info.tokenLabel());
    return identity;
  }

  @Override
  public KeyEncryptionKey kek(KekIdentity identity) {
    byte[] id = HexFormat.of().parseHex(identity.idHex());
    KeyHandle handle = new KeyHandle(tokenObjects.readLock(),
        () -> new AttributeVector().class_(CKO_SECRET_KEY).label(identity.label()).id(id),
        () -> KeywardenException.precondition("the HSM token '" + info.tokenLabel() + "' no longer holds KEK '"
            + identity.label() + "' (id " + identity.idHex() + ")"));
    call("searching for KEK '" + identity.label() + "'", handle::get);
    return new Pkcs11Kek(this, identity, handle);
  }

  @Override
  public HsmKeyId generateAesKey(String label) {
    requireLabel(label, "key label");
    byte[] id = newId(AES_KEY_ID_BYTES);
    generateOnce("generating AES key '" + label + "'", label, id, token -> token.generateKey(
        new Mechanism(CKM_AES_KEY_GEN), AttributeVector.newSecretKey(CKK_AES)
            .token(true).private_(true).sensitive(true).extractable(false)
            .encrypt(true).decrypt(true)
            .wrap(false).unwrap(false).sign(false).verify(false).derive(false)
            .valueLen(AES_KEY_BYTES).label(label).id(id)));
    HsmKeyId keyId = new HsmKeyId(label, HexFormat.of().formatHex(id));
    LOG.info("generated AES key '{}' (id {}) on token '{}'", label, keyId.idHex(), info.tokenLabel());
    return keyId;
  }

  @Override
  public HsmAead aesKey(HsmKeyId id) {
    KeyHandle handle = new KeyHandle(tokenObjects.readLock(), () -> aesKeyTemplate(id), () -> noLongerHolds(id));
    call("searching for key '" + id.label() + "'", handle::get);
    return new Pkcs11Aead(this, id, handle);
  }

  @Override
  public HsmKeyId generateKeyPair(String label, KeyPairAlgorithm algorithm) {
    requireLabel(label, "key label");
    if (algorithm == null) {
      throw KeywardenException.invalid("key pair algorithm is missing");
    }
    byte[] id = newId(KEY_PAIR_ID_BYTES);
    generateOnce("generating " + algorithm + " key pair '" + label + "'", label, id, token -> token.generateKeyPair(
        Pkcs11KeyPairs.generation(algorithm), Pkcs11KeyPairs.template(algorithm, label, id)));
    HsmKeyId keyId = new HsmKeyId(label, HexFormat.of().formatHex(id));
    LOG.info("generated {} key pair '{}' (id {}) on token '{}'", algorithm, label, keyId.idHex(),
        info.tokenLabel());
    return keyId;
  }

  @Override
  public HsmSigner signer(HsmKeyId id) {
    KeyHandle privateKey = new KeyHandle(tokenObjects.readLock(), () -> privateKeyTemplate(id),
        () -> noLongerHolds(id));
    KeyHandle publicKey = new KeyHandle(tokenObjects.readLock(), () -> publicKeyTemplate(id),
        () -> noLongerHolds(id));
    Pkcs11KeyPairs.PublicHalf publicHalf = call("reading the public key '" + id.label() + "'", (token, generation) -> {
      privateKey.get(token, generation);
      return Pkcs11KeyPairs.readPublicKey(token, publicKey.get(token, generation), id);
    });
    return new Pkcs11Signer(this, id, publicHalf.algorithm(), publicHalf.key(), privateKey);
  }

  @Override
  public void destroyKey(HsmKeyId id) {
    // Set once a C_DestroyObject was sent: a retry that then finds nothing means the first attempt did the work.
    AtomicBoolean sent = new AtomicBoolean();
    call("destroying key '" + id.label() + "'", (token, generation) -> {
      tokenObjects.writeLock().lock();
      try {
        long[] found = concat(findObjects(token, aesKeyTemplate(id)), findObjects(token, privateKeyTemplate(id)),
            findObjects(token, publicKeyTemplate(id)));
        if (found.length == 0) {
          if (sent.get()) {
            return null;
          }
          Pkcs11Connection.requireReachable(token);
          throw KeywardenException.notFound("token '" + info.tokenLabel() + "' holds no key '" + id.label()
              + "' (id " + id.idHex() + ")");
        }
        for (long handle : found) {
          sent.set(true);
          try {
            token.destroyObject(handle);
          } catch (PKCS11Exception e) {
            // Destroyed by someone else between the search and now: gone is what was asked for.
            if (!Pkcs11Failures.hasCode(e, CKR_OBJECT_HANDLE_INVALID, CKR_KEY_HANDLE_INVALID)) {
              throw e;
            }
          }
        }
        return null;
      } finally {
        tokenObjects.writeLock().unlock();
      }
    });
    LOG.info("destroyed key '{}' (id {}) on token '{}'", id.label(), id.idHex(), info.tokenLabel());
  }

  @Override
  public void close() {
    connection.close();
    onClose.run();
  }

  /**
   * Runs one idempotent PKCS#11 operation with recovery (see {@link Pkcs11Connection#run}); a PKCS#11 failure that is
   * not about reaching the token becomes UNAVAILABLE naming what was being done and the CKR_ code.
   */
  <T> T call(String doing, Pkcs11Connection.TokenCall<T> operation) {
    try {
      return connection.run(doing + " on token '" + info.tokenLabel() + "'", operation);
    } catch (TokenException e) {
      throw Pkcs11Failures.unavailable(doing + " on token '" + info.tokenLabel() + "'", e);
    }
  }

  /** Holds the HSM open for direct use of {@link #token()} (tests); FAILED_PRECONDITION once it is closed (sealed). */
  Use use() {
    return connection.use();
  }

  /** How many times the connection was opened again after a failure (tests). */
  long reconnects() {
    return connection.reconnects();
  }

  /** How many reconnects were tried, successful or not (tests). */
  long reconnectAttempts() {
    return connection.reconnectAttempts();
  }

  /** True when the module's CKM_AES_KEY_WRAP_PAD loses the key length; see {@link PaddingDefectFraming}. */
  boolean paddingDefect() {
    return paddingDefect;
  }

  /** The logged-in session pool; only valid inside {@link #use()}. */
  PKCS11Token token() {
    return connection.token();
  }

  KeywardenException noLongerHolds(HsmKeyId id) {
    return KeywardenException.precondition("the HSM token '" + info.tokenLabel() + "' no longer holds key '"
        + id.label() + "' (id " + id.idHex() + ")");
  }

  /** Makes a token key with this label and id at most once, however often the call is retried. */
  private void generateOnce(String doing, String label, byte[] id, KeyMaker maker) {
    call(doing, (token, generation) -> {
      tokenObjects.writeLock().lock();
      try {
        if (findObjects(token, new AttributeVector().label(label).id(id)).length > 0) {
          return null; // made by an earlier attempt whose answer was lost with the connection
        }
        requireLabelFree(token, label);
        maker.make(token);
        return null;
      } finally {
        tokenObjects.writeLock().unlock();
      }
    });
  }

  @FunctionalInterface
  private interface KeyMaker {
    void make(PKCS11Token token) throws TokenException;
  }

  /** Matches only keys that may encrypt, so no id can reach a KEK (which may only wrap). */
  private static AttributeVector aesKeyTemplate(HsmKeyId id) {
    return new AttributeVector().class_(CKO_SECRET_KEY).keyType(CKK_AES).encrypt(true)
        .label(id.label()).id(HexFormat.of().parseHex(id.idHex()));
  }

  /** Matches only private keys that may sign: the half {@link #signer} uses. */
  private static AttributeVector privateKeyTemplate(HsmKeyId id) {
    return new AttributeVector().class_(CKO_PRIVATE_KEY).sign(true)
        .label(id.label()).id(HexFormat.of().parseHex(id.idHex()));
  }

  private static AttributeVector publicKeyTemplate(HsmKeyId id) {
    return new AttributeVector().class_(CKO_PUBLIC_KEY).label(id.label()).id(HexFormat.of().parseHex(id.idHex()));
  }

  /**
   * ALREADY_EXISTS when any key (a KEK, an AES key, either half of a key pair) has this label. An empty answer counts
   * only from a token that answers: an absent SoftHSM2 token finds nothing.
   */
  private void requireLabelFree(PKCS11Token token, String label) throws TokenException {
    for (long keyClass : new long[] {CKO_SECRET_KEY, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
      if (findObjects(token, new AttributeVector().class_(keyClass).label(label)).length > 0) {
        throw KeywardenException.alreadyExists("token '" + info.tokenLabel() + "' already holds a key labelled '"
            + label + "'");
      }
    }
    Pkcs11Connection.requireReachable(token);
  }

  private static void requireLabel(String label, String what) {
    if (label == null || label.isBlank()) {
      throw KeywardenException.invalid(what + " is empty");
    }
  }

  private byte[] newId(int bytes) {
    byte[] id = new byte[bytes];
    random.nextBytes(id);
    return id;
  }

  private static long[] concat(long[]... parts) {
    return Arrays.stream(parts).flatMapToLong(Arrays::stream).toArray();
  }

  private static long[] findObjects(PKCS11Token token, AttributeVector template) throws TokenException {
    return token.findObjects(template, 2);
  }

  @Override
  public String toString() {
    return "Pkcs11Hsm[" + info + "]";
  }

  /** An operation in progress; closing it lets {@link #close()} proceed. */
  interface Use extends AutoCloseable {
    @Override
    void close();
  }
}
