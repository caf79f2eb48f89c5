package dev.keywarden.hsm.software;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmAead;
import dev.keywarden.hsm.HsmInfo;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.hsm.KeyPairAlgorithm;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The opened software HSM: holds the secret and derives each KEK and AES key from it. Dev-only.
 *
 * <p>Keys are derived, not stored, so "the token holds this key" means only that it was not destroyed through the
 * same provider: a destroyed key comes back in a new process given the same secret.
 */
final class SoftwareHsm implements Hsm {

  private static final String KEK_DERIVATION_PREFIX = "keywarden-software-kek|";
  private static final String AES_DERIVATION_PREFIX = "keywarden-software-aes|";
  private static final String KEY_PAIR_DERIVATION_PREFIX = "keywarden-software-keypair|";
  private static final String KEY_PAIR_ID_PREFIX = "keywarden-software-keypair-id|";
  // A key pair id: 11 random bytes, the algorithm's ordinal, and 4 bytes of HMAC over the rest, so the algorithm comes
  // back from the id alone after a restart and an id this secret never issued is not taken for a key pair.
  private static final int KEY_PAIR_ID_RANDOM_BYTES = 11;
  private static final int KEY_PAIR_ID_TAG_BYTES = 4;

  private final byte[] secret;
  private final Set<String> generatedLabels;
  private final Set<HsmKeyId> generatedKeys;
  private final Set<HsmKeyId> destroyedKeys;
  private final SecureRandom random = new SecureRandom();
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Map<KekIdentity, SoftwareKek> keks = new ConcurrentHashMap<>();
  private final Map<HsmKeyId, SoftwareAead> aeads = new ConcurrentHashMap<>();
  private final Map<HsmKeyId, SoftwareSigner> signers = new ConcurrentHashMap<>();
  private boolean closed;

  SoftwareHsm(byte[] secret, Set<String> generatedLabels, Set<HsmKeyId> generatedKeys,
      Set<HsmKeyId> destroyedKeys) {
    this.secret = secret;
    this.generatedLabels = generatedLabels;
    this.generatedKeys = generatedKeys;
    this.destroyedKeys = destroyedKeys;
  }

  @Override
  public HsmInfo info() {
    return SoftwareHsmProvider.INFO;
  }

  @Override
  public KekIdentity generateKek(String label) {
    if (label == null || label.isBlank()) {
      throw KeywardenException.invalid("KEK label is empty");
    }
    try (Use use = use()) {
      if (!generatedLabels.add(label)) {
        throw KeywardenException.alreadyExists("the software HSM already holds a key labelled '" + label + "'");
      }
      byte[] id = new byte[16];
      random.nextBytes(id);
      return new KekIdentity(label, HexFormat.of().formatHex(id));
    }
  }

  @Override
  public KeyEncryptionKey kek(KekIdentity identity) {
    try (Use use = use()) {
      // One instance per identity, so close() can zeroize every derived key.
      return keks.computeIfAbsent(identity,
          id -> new SoftwareKek(this, id, derive(KEK_DERIVATION_PREFIX, id.label(), id.idHex())));
    }
  }

  @Override
  public HsmKeyId generateAesKey(String label) {
    if (label == null || label.isBlank()) {
      throw KeywardenException.invalid("key label is empty");
    }
    try (Use use = use()) {
      if (!generatedLabels.add(label)) {
        throw KeywardenException.alreadyExists("the software HSM already holds a key labelled '" + label + "'");
      }
      byte[] id = new byte[16];
      random.nextBytes(id);
      HsmKeyId keyId = new HsmKeyId(label, HexFormat.of().formatHex(id));
      generatedKeys.add(keyId);
      return keyId;
    }
  }

  @Override
  public HsmAead aesKey(HsmKeyId id) {
    try (Use use = use()) {
      requireHeld(id);
      // One instance per id, so destroyKey() and close() can zeroize every derived key.
      return aeads.computeIfAbsent(id,
          k -> new SoftwareAead(this, k, derive(AES_DERIVATION_PREFIX, k.label(), k.idHex())));
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
      if (!generatedLabels.add(label)) {
        throw KeywardenException.alreadyExists("the software HSM already holds a key labelled '" + label + "'");
      }
      byte[] id = new byte[KEY_PAIR_ID_RANDOM_BYTES + 1 + KEY_PAIR_ID_TAG_BYTES];
      random.nextBytes(id);
      id[KEY_PAIR_ID_RANDOM_BYTES] = (byte) algorithm.ordinal();
      System.arraycopy(keyPairIdTag(label, id), 0, id, KEY_PAIR_ID_RANDOM_BYTES + 1, KEY_PAIR_ID_TAG_BYTES);
      HsmKeyId keyId = new HsmKeyId(label, HexFormat.of().formatHex(id));
      generatedKeys.add(keyId);
      return keyId;
    }
  }

  @Override
  public HsmSigner signer(HsmKeyId id) {
    try (Use use = use()) {
      requireHeld(id);
      KeyPairAlgorithm algorithm = keyPairAlgorithm(id);
      // One instance per id: RSA generation is slow, and destroyKey() and close() drop them all.
      return signers.computeIfAbsent(id, k -> new SoftwareSigner(this, k, algorithm, deriveKeyPair(k, algorithm)));
    }
  }

  /** Takes the write lock so no operation is using the key bytes as they are zeroized. */
  @Override
  public void destroyKey(HsmKeyId id) {
    Lock write = lock.writeLock();
    write.lock();
    try {
      requireOpen();
      if (!destroyedKeys.add(id)) {
        throw KeywardenException.notFound("the software HSM holds no key '" + id.label() + "' (id " + id.idHex()
            + ")");
      }
      // As on a token, the label is free again once its key is gone (never a KEK's, nor another key's label).
      if (generatedKeys.remove(id)) {
        generatedLabels.remove(id.label());
      }
      SoftwareAead aead = aeads.remove(id);
      if (aead != null) {
        aead.zeroize();
      }
      signers.remove(id);
    } finally {
      write.unlock();
    }
  }

  /** FAILED_PRECONDITION once {@code id} was destroyed; call inside {@link #use()}. */
  void requireHeld(HsmKeyId id) {
    if (destroyedKeys.contains(id)) {
      throw KeywardenException.precondition("the software HSM no longer holds key '" + id.label() + "' (id "
          + id.idHex() + ")");
    }
  }

  @Override
  public void close() {
    Lock write = lock.writeLock();
    write.lock();
    try {
      closed = true;
      Arrays.fill(secret, (byte) 0);
      keks.values().forEach(SoftwareKek::zeroize);
      keks.clear();
      aeads.values().forEach(SoftwareAead::zeroize);
      aeads.clear();
      signers.clear();
    } finally {
      write.unlock();
    }
  }

  /**
   * HMAC-SHA256(secret, prefix + label + "|" + idHex): the AES-256 key for this name. The prefix keeps KEKs
   * ("keywarden-software-kek|") and AES keys ("keywarden-software-aes|") apart.
   */
  private byte[] derive(String prefix, String label, String idHex) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return mac.doFinal((prefix + label + "|" + idHex).getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
    }
  }

  /** The algorithm a key pair id of this secret names; FAILED_PRECONDITION for any other id, as for a missing key. */
  private KeyPairAlgorithm keyPairAlgorithm(HsmKeyId id) {
    byte[] raw = HexFormat.of().parseHex(id.idHex());
    KeyPairAlgorithm[] algorithms = KeyPairAlgorithm.values();
    if (raw.length == KEY_PAIR_ID_RANDOM_BYTES + 1 + KEY_PAIR_ID_TAG_BYTES
        && MessageDigest.isEqual(Arrays.copyOfRange(raw, KEY_PAIR_ID_RANDOM_BYTES + 1, raw.length),
            keyPairIdTag(id.label(), raw))
        && (raw[KEY_PAIR_ID_RANDOM_BYTES] & 0xff) < algorithms.length) {
      return algorithms[raw[KEY_PAIR_ID_RANDOM_BYTES] & 0xff];
    }
    throw KeywardenException.precondition("the software HSM no longer holds key '" + id.label() + "' (id "
        + id.idHex() + ")");
  }

  private byte[] keyPairIdTag(String label, byte[] id) {
    String signed = HexFormat.of().formatHex(id, 0, KEY_PAIR_ID_RANDOM_BYTES + 1);
    return Arrays.copyOf(derive(KEY_PAIR_ID_PREFIX, label, signed), KEY_PAIR_ID_TAG_BYTES);
  }

  /**
   * The key pair generated by the JDK from a SHA1PRNG seeded, before any output, with
   * HMAC-SHA256(secret, "keywarden-software-keypair|" + label + "|" + idHex + "|" + algorithm): the same secret and id
   * give the same key pair in every process. The providers are named so an installed Bouncy Castle cannot change it.
   */
  private KeyPair deriveKeyPair(HsmKeyId id, KeyPairAlgorithm algorithm) {
    byte[] seed = derive(KEY_PAIR_DERIVATION_PREFIX, id.label(), id.idHex() + "|" + algorithm);
    try {
      SecureRandom deterministic = SecureRandom.getInstance("SHA1PRNG", "SUN");
      deterministic.setSeed(seed);
      KeyPairGenerator generator;
      switch (algorithm.family()) {
        case EC -> {
          generator = KeyPairGenerator.getInstance("EC", "SunEC");
          generator.initialize(new ECGenParameterSpec(algorithm == KeyPairAlgorithm.EC_P256 ? "secp256r1"
              : "secp384r1"), deterministic);
        }
        case EDDSA -> {
          generator = KeyPairGenerator.getInstance("Ed25519", "SunEC");
          generator.initialize(255, deterministic);
        }
        default -> {
          generator = KeyPairGenerator.getInstance("RSA", "SunRsaSign");
          generator.initialize(new RSAKeyGenParameterSpec(algorithm.bits(), RSAKeyGenParameterSpec.F4),
              deterministic);
        }
      }
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK cannot generate " + algorithm + " keys", e);
    } finally {
      Arrays.fill(seed, (byte) 0);
    }
  }

  /** Holds the HSM open while an operation runs; FAILED_PRECONDITION once it is closed (sealed). */
  Use use() {
    Lock read = lock.readLock();
    read.lock();
    try {
      requireOpen();
    } catch (KeywardenException e) {
      read.unlock();
      throw e;
    }
    return read::unlock;
  }

  private void requireOpen() {
    if (closed) {
      throw KeywardenException.precondition("the software HSM is closed: the service is sealed");
    }
  }

  @Override
  public String toString() {
    return "SoftwareHsm[dev-only" + (closed ? ", closed" : "") + "]";
  }

  /** An operation in progress. */
  interface Use extends AutoCloseable {
    @Override
    void close();
  }
}
