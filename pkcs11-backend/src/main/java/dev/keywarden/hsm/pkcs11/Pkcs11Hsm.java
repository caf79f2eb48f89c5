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
import dev.keywarden.hsm.HsmInfo;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.hsm.KeyPairAlgorithm;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.TokenException;

/**
 * A logged-in PKCS#11 token with a pool of sessions. Every operation holds a read lock for its duration and
 * {@link #close()} takes the write lock, so closing waits for operations in flight and later ones fail cleanly
 * with FAILED_PRECONDITION instead of reaching closed sessions.
 */
public final class Pkcs11Hsm implements Hsm {

  private static final Logger LOG = LoggerFactory.getLogger(Pkcs11Hsm.class);
  private static final int KEK_BYTES = 32;
  private static final int KEK_ID_BYTES = 16;
  private static final int AES_KEY_BYTES = 32;
  private static final int AES_KEY_ID_BYTES = 16;
  private static final int KEY_PAIR_ID_BYTES = 16;

  private final HsmInfo info;
  private final PKCS11Token token;
  private final char[] pin;
  private final Runnable onClose;
  private final boolean paddingDefect;
  private final SecureRandom random = new SecureRandom();
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private boolean closed;

  Pkcs11Hsm(HsmInfo info, PKCS11Token token, char[] pin, boolean paddingDefect,
      Runnable onClose) {
    this.paddingDefect = paddingDefect;
    this.info = info;
    this.token = token;
    this.pin = pin;
    this.onClose = onClose;
  }

  @Override
  public HsmInfo info() {
    return info;
  }

  @Override
  public KekIdentity generateKek(String label) {
    if (label == null || label.isBlank()) {
      throw KeywardenException.invalid("KEK label is empty");
    }
    try (Use use = use()) {
      requireLabelFree(label);
      byte[] id = new byte[KEK_ID_BYTES];
      random.nextBytes(id);
      AttributeVector template = AttributeVector.newSecretKey(CKK_AES)
          .token(true).private_(true).sensitive(true).extractable(false)
          .wrap(true).unwrap(true)
          .encrypt(false).decrypt(false).sign(false).verify(false).derive(false)
          .valueLen(KEK_BYTES).label(label).id(id);
      try {
        token.generateKey(new Mechanism(CKM_AES_KEY_GEN), template);
      } catch (TokenException e) {
        throw Pkcs11Failures.unavailable("generating KEK '" + label + "' on token '" + info.tokenLabel() + "'", e);
      }
      KekIdentity identity = new KekIdentity(label, HexFormat.of().formatHex(id));
      LOG.info("generated KEK '{}' (id {}) on token '{}'", label, identity.idHex(), info.tokenLabel());
      return identity;
    }
  }

  @Override
  public KeyEncryptionKey kek(KekIdentity identity) {
    try (Use use = use()) {
      byte[] id = HexFormat.of().parseHex(identity.idHex());
      long[] found = findObjects(new AttributeVector().class_(CKO_SECRET_KEY).label(identity.label()).id(id));
      if (found.length == 0) {
        throw KeywardenException.precondition("the HSM token '" + info.tokenLabel() + "' no longer holds KEK '"
            + identity.label() + "' (id " + identity.idHex() + ")");
      }
      return new Pkcs11Kek(this, identity, found[0]);
    }
  }

  @Override
  public HsmKeyId generateAesKey(String label) {
    if (label == null || label.isBlank()) {
      throw KeywardenException.invalid("key label is empty");
    }
    try (Use use = use()) {
      requireLabelFree(label);
      byte[] id = new byte[AES_KEY_ID_BYTES];
      random.nextBytes(id);
      AttributeVector template = AttributeVector.newSecretKey(CKK_AES)
          .token(true).private_(true).sensitive(true).extractable(false)
          .encrypt(true).decrypt(true)
          .wrap(false).unwrap(false).sign(false).verify(false).derive(false)
          .valueLen(AES_KEY_BYTES).label(label).id(id);
      try {
        token.generateKey(new Mechanism(CKM_AES_KEY_GEN), template);
      } catch (TokenException e) {
        throw Pkcs11Failures.unavailable("generating AES key '" + label + "' on token '" + info.tokenLabel() + "'", e);
      }
      HsmKeyId keyId = new HsmKeyId(label, HexFormat.of().formatHex(id));
      LOG.info("generated AES key '{}' (id {}) on token '{}'", label, keyId.idHex(), info.tokenLabel());
      return keyId;
    }
  }

  @Override
  public HsmAead aesKey(HsmKeyId id) {
    try (Use use = use()) {
      long[] found = findObjects(aesKeyTemplate(id));
      if (found.length == 0) {
        throw noLongerHolds(id);
      }
      return new Pkcs11Aead(this, id, found[0]);
    }
  }

  @Override
  public HsmKeyId generateKeyPair(String label, KeyPairAlgorithm algorithm) {
    if (label == null || label.isBlank()) {
      throw KeywardenException.invalid("key label is empty");
    }
    if (algorithm == null) {
      throw KeywardenException.invalid("key pair algorithm is missing");
    }
    try (Use use = use()) {
      requireLabelFree(label);
      byte[] id = new byte[KEY_PAIR_ID_BYTES];
      random.nextBytes(id);
      try {
        token.generateKeyPair(Pkcs11KeyPairs.generation(algorithm), Pkcs11KeyPairs.template(algorithm, label, id));
      } catch (TokenException e) {
        throw Pkcs11Failures.unavailable("generating " + algorithm + " key pair '" + label + "' on token '"
            + info.tokenLabel() + "'", e);
      }
      HsmKeyId keyId = new HsmKeyId(label, HexFormat.of().formatHex(id));
      LOG.info("generated {} key pair '{}' (id {}) on token '{}'", algorithm, label, keyId.idHex(),
          info.tokenLabel());
      return keyId;
    }
  }

  @Override
  public HsmSigner signer(HsmKeyId id) {
    try (Use use = use()) {
      long[] privateKeys = findObjects(privateKeyTemplate(id));
      long[] publicKeys = findObjects(publicKeyTemplate(id));
      if (privateKeys.length == 0 || publicKeys.length == 0) {
        throw noLongerHolds(id);
      }
      Pkcs11KeyPairs.PublicHalf publicHalf;
      try {
        publicHalf = Pkcs11KeyPairs.readPublicKey(token, publicKeys[0], id);
      } catch (TokenException e) {
        throw Pkcs11Failures.unavailable("reading the public key '" + id.label() + "' from token '"
            + info.tokenLabel() + "'", e);
      }
      return new Pkcs11Signer(this, id, publicHalf.algorithm(), publicHalf.key(), privateKeys[0]);
    }
  }

  @Override
  public void destroyKey(HsmKeyId id) {
    try (Use use = use()) {
      long[] found = concat(findObjects(aesKeyTemplate(id)), findObjects(privateKeyTemplate(id)),
          findObjects(publicKeyTemplate(id)));
      if (found.length == 0) {
        throw KeywardenException.notFound("token '" + info.tokenLabel() + "' holds no key '" + id.label()
            + "' (id " + id.idHex() + ")");
      }
      for (long handle : found) {
        try {
          token.destroyObject(handle);
        } catch (TokenException e) {
          // Destroyed by someone else between the search and now: gone is what was asked for.
          if (!Pkcs11Failures.hasCode(e, CKR_OBJECT_HANDLE_INVALID, CKR_KEY_HANDLE_INVALID)) {
            throw Pkcs11Failures.unavailable("destroying key '" + id.label() + "' on token '"
                + info.tokenLabel() + "'", e);
          }
        }
      }
      LOG.info("destroyed key '{}' (id {}) on token '{}'", id.label(), id.idHex(), info.tokenLabel());
    }
  }

  @Override
  public void close() {
    Lock write = lock.writeLock();
    write.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      try {
        token.logout();
      } catch (TokenException | RuntimeException e) {
        LOG.warn("logout from token '{}' failed: {}", info.tokenLabel(), describe(e));
      }
      token.closeAllSessions();
      Arrays.fill(pin, '\0');
      onClose.run();
    } finally {
      write.unlock();
    }
  }

  /** Holds the HSM open while an operation runs; fails with FAILED_PRECONDITION once it is closed (sealed). */
  Use use() {
    Lock read = lock.readLock();
    read.lock();
    if (closed) {
      read.unlock();
      throw KeywardenException.precondition("the HSM session to token '" + info.tokenLabel()
          + "' is closed: the service is sealed");
    }
    return read::unlock;
  }

  /** True when the module's CKM_AES_KEY_WRAP_PAD loses the key length; see {@link PaddingDefectFraming}. */
  boolean paddingDefect() {
    return paddingDefect;
  }

  /** The logged-in session pool; only valid inside {@link #use()}. */
  PKCS11Token token() {
    return token;
  }

  /** True when the token still holds the key named by {@code id} under this handle; only valid inside {@link #use()}. */
  boolean holds(HsmKeyId id, long handle) {
    return contains(findObjects(aesKeyTemplate(id)), handle);
  }

  /** True when the token still holds the private key named by {@code id} under this handle; inside {@link #use()}. */
  boolean holdsPrivateKey(HsmKeyId id, long handle) {
    return contains(findObjects(privateKeyTemplate(id)), handle);
  }

  KeywardenException noLongerHolds(HsmKeyId id) {
    return KeywardenException.precondition("the HSM token '" + info.tokenLabel() + "' no longer holds key '"
        + id.label() + "' (id " + id.idHex() + ")");
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

  /** ALREADY_EXISTS when any key (a KEK, an AES key, either half of a key pair) has this label. */
  private void requireLabelFree(String label) {
    for (long keyClass : new long[] {CKO_SECRET_KEY, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
      if (findObjects(new AttributeVector().class_(keyClass).label(label)).length > 0) {
        throw KeywardenException.alreadyExists("token '" + info.tokenLabel() + "' already holds a key labelled '"
            + label + "'");
      }
    }
  }

  private static boolean contains(long[] handles, long handle) {
    for (long found : handles) {
      if (found == handle) {
        return true;
      }
    }
    return false;
  }

  private static long[] concat(long[]... parts) {
    return Arrays.stream(parts).flatMapToLong(Arrays::stream).toArray();
  }

  private long[] findObjects(AttributeVector template) {
    try {
      return token.findObjects(template, 2);
    } catch (TokenException e) {
      throw Pkcs11Failures.unavailable("searching token '" + info.tokenLabel() + "'", e);
    }
  }

  private static String describe(Exception e) {
    var code = Pkcs11Failures.returnCode(e);
    return code != null ? Pkcs11Failures.name(code) : e.getClass().getSimpleName();
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
