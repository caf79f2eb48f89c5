package dev.keywarden.audit;

import dev.keywarden.failure.KeywardenException;
import java.security.GeneralSecurityException;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;

/**
 * One device's HMAC of secrets, for the calling threads: Mac instances keyed once with the device's audit key and
 * reused, instead of a provider look-up, a key copy and a key schedule per secret. The key is read (from the working
 * keys, so only while unsealed) when a Mac is made; on {@link #close} every idle Mac is keyed with zeros, and one
 * still in use is when it comes back.
 */
final class DeviceHmac implements RecordFormat.SecretHasher {
  private static final int SLOTS = 16;
  private static final SecretKeySpec ZEROS = new SecretKeySpec(new byte[AuditHmac.KEY_BYTES], "HmacSHA256");

  private final Supplier<Mac> keyed;
  private final AtomicReferenceArray<Mac> idle = new AtomicReferenceArray<>(SLOTS);
  private volatile boolean closed;

  /** {@code keyed} makes a Mac keyed with the device's key (throws while sealed). */
  DeviceHmac(Supplier<Mac> keyed) {
    this.keyed = keyed;
  }

  /** Writes the HMAC of {@code value} into {@code out} (32 bytes). */
  @Override
  public void hash(byte[] value, byte[] out) {
    int start = (int) Thread.currentThread().getId() & (SLOTS - 1);
    Mac mac = borrow(start);
    try {
      mac.update(value);
      mac.doFinal(out, 0);
    } catch (ShortBufferException e) {
      throw new IllegalArgumentException("an HMAC-SHA256 needs 32 bytes", e);
    } finally {
      giveBack(mac, start);
    }
  }

  private Mac borrow(int start) {
    for (int i = 0; i < SLOTS; i++) {
      int s = (start + i) & (SLOTS - 1);
      Mac m = idle.get(s);
      if (m != null && idle.compareAndSet(s, m, null)) {
        return m;
      }
    }
    if (closed) {
      throw KeywardenException.precondition("the audit device is closed");
    }
    return keyed.get();
  }

  private void giveBack(Mac mac, int start) {
    mac.reset();
    if (!closed) {
      for (int i = 0; i < SLOTS; i++) {
        int s = (start + i) & (SLOTS - 1);
        if (idle.get(s) == null && idle.compareAndSet(s, null, mac)) {
          if (closed && idle.compareAndSet(s, mac, null)) {
            wipe(mac); // closed meanwhile: close() may have swept this slot already
          }
          return;
        }
      }
    }
    wipe(mac);
  }

  /** Forgets the key: every Mac is keyed with zeros now or when it comes back. */
  void close() {
    closed = true;
    for (int s = 0; s < SLOTS; s++) {
      Mac m = idle.getAndSet(s, null);
      if (m != null) {
        wipe(m);
      }
    }
  }

  private static void wipe(Mac mac) {
    try {
      mac.init(ZEROS);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 refused a key", e);
    }
  }
}
