package dev.keywarden.hsm.software;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmInfo;
import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** The opened software HSM: holds the secret and derives each KEK from it. Dev-only. */
final class SoftwareHsm implements Hsm {

  private static final String DERIVATION_PREFIX = "keywarden-software-kek|";

  private final byte[] secret;
  private final Set<String> generatedLabels;
  private final SecureRandom random = new SecureRandom();
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Map<KekIdentity, SoftwareKek> keks = new ConcurrentHashMap<>();
  private boolean closed;

  SoftwareHsm(byte[] secret, Set<String> generatedLabels) {
    this.secret = secret;
    this.generatedLabels = generatedLabels;
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
      return keks.computeIfAbsent(identity, id -> new SoftwareKek(this, id, derive(id)));
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
    } finally {
      write.unlock();
    }
  }

  /** HMAC-SHA256(secret, "keywarden-software-kek|" + label + "|" + idHex): the AES-256 KEK for this identity. */
  private byte[] derive(KekIdentity identity) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return mac.doFinal((DERIVATION_PREFIX + identity.label() + "|" + identity.idHex())
          .getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
    }
  }

  /** Holds the HSM open while an operation runs; FAILED_PRECONDITION once it is closed (sealed). */
  Use use() {
    Lock read = lock.readLock();
    read.lock();
    if (closed) {
      read.unlock();
      throw KeywardenException.precondition("the software HSM is closed: the service is sealed");
    }
    return read::unlock;
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
