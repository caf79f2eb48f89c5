package dev.keywarden.transit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** A keyring unloaded (seal, delete) while one of its versions is being unwrapped leaves no key un-zeroized. */
class LoadedKeyringTest {
  private static LoadedKeyring keyring() {
    KeyVersion v = new KeyVersion(1, 0, new byte[40], null, null, null, 0);
    Keyring k = new Keyring("k", "aes256-gcm96", 0, new KeyringConfig(false, false, false, 0, 1, 1), List.of(v));
    return new LoadedKeyring(k, 1, new LoadedKeyring.Versions());
  }

  @Test
  void aVersionUnwrappedWhileTheKeyringIsUnloadedIsZeroizedAndNotKept() throws Exception {
    LoadedKeyring l = keyring();
    byte[] material = new byte[32];
    java.util.Arrays.fill(material, (byte) 7);
    CountDownLatch unwrapping = new CountDownLatch(1);
    CountDownLatch finish = new CountDownLatch(1);
    AtomicReference<VersionKey> got = new AtomicReference<>();
    Thread request = new Thread(() -> got.set(l.version(1, v -> {
      unwrapping.countDown();
      try {
        finish.await(10, TimeUnit.SECONDS); // the HSM unwrap, while the seal comes
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return VersionKey.of(1, KeyType.AES256_GCM96, material, null);
    })));
    request.start();
    assertEquals(true, unwrapping.await(10, TimeUnit.SECONDS));
    Thread seal = new Thread(() -> l.destroy(VersionKey.Zeroized.SEALED));
    seal.start();
    // the seal reaches the keyring while the unwrap is still under way
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (seal.getState() != Thread.State.BLOCKED && seal.isAlive() && System.nanoTime() < until) {
      Thread.onSpinWait();
    }
    finish.countDown();
    request.join(10_000);
    seal.join(10_000);

    assertArrayEquals(new byte[32], material, "the key unwrapped during the seal was zeroized");
    assertNull(l.loadedVersion(1));
    AtomicInteger loads = new AtomicInteger();
    assertNull(l.version(1, v -> {
      loads.incrementAndGet();
      return VersionKey.of(1, KeyType.AES256_GCM96, new byte[32], null);
    }), "an unloaded keyring loads nothing more");
    assertEquals(0, loads.get());
  }

  @Test
  void aNewGenerationSharesTheUnloadWithTheOldOne() {
    LoadedKeyring old = keyring();
    byte[] material = new byte[32];
    java.util.Arrays.fill(material, (byte) 7);
    LoadedKeyring next = old.next(old.keyring, 2);
    next.destroy(VersionKey.Zeroized.DELETED);
    // a request still holding the old generation cannot add a key the unload will never see
    assertNull(old.version(1, v -> VersionKey.of(1, KeyType.AES256_GCM96, material, null)));
  }

  @Test
  void trimmedVersionsAreZeroizedWhenTheTrimmedKeyringArrives() {
    KeyringConfig config = new KeyringConfig(false, false, false, 0, 1, 1);
    Keyring two = new Keyring("k", "aes256-gcm96", 0, config,
        List.of(new KeyVersion(1, 0, new byte[40], null, null, null, 0),
            new KeyVersion(2, 0, new byte[40], null, null, null, 0)));
    LoadedKeyring l = new LoadedKeyring(two, 1, new LoadedKeyring.Versions());
    byte[] one = new byte[32];
    byte[] latest = new byte[32];
    java.util.Arrays.fill(one, (byte) 7);
    java.util.Arrays.fill(latest, (byte) 9);
    l.version(1, v -> VersionKey.of(1, KeyType.AES256_GCM96, one, null));
    l.version(2, v -> VersionKey.of(2, KeyType.AES256_GCM96, latest, null));

    Keyring trimmed = new Keyring("k", "aes256-gcm96", 0, new KeyringConfig(false, false, false, 0, 2, 1),
        List.of(new KeyVersion(2, 0, new byte[40], null, null, null, 0)));
    LoadedKeyring next = l.next(trimmed, 2);

    assertArrayEquals(new byte[32], one, "the trimmed version's key was zeroized");
    assertNull(next.loadedVersion(1));
    byte[] nine = new byte[32];
    java.util.Arrays.fill(nine, (byte) 9);
    assertArrayEquals(nine, latest, "the kept version is untouched");
    assertEquals(2, next.loadedVersion(2).version);
  }

  @Test
  void anHmacWhoseKeyIsZeroizedMeanwhileFailsInsteadOfAnsweringUnderAZeroKey() {
    byte[] material = new byte[32];
    java.util.Arrays.fill(material, (byte) 5);
    VersionKey key = VersionKey.of(1, KeyType.HMAC, material, null);
    byte[] input = "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] mac = key.hmac(dev.keywarden.transit.crypto.HashAlgorithm.SHA2_256, input);
    assertEquals(true, key.verifyHmac(dev.keywarden.transit.crypto.HashAlgorithm.SHA2_256, input, mac));
    key.destroy(VersionKey.Zeroized.SEALED);
    dev.keywarden.failure.KeywardenException e = org.junit.jupiter.api.Assertions.assertThrows(
        dev.keywarden.failure.KeywardenException.class,
        () -> key.hmac(dev.keywarden.transit.crypto.HashAlgorithm.SHA2_256, input));
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("zeroized"), e.getMessage());
    org.junit.jupiter.api.Assertions.assertThrows(dev.keywarden.failure.KeywardenException.class,
        () -> key.verifyHmac(dev.keywarden.transit.crypto.HashAlgorithm.SHA2_256, input, mac),
        "a zeroed key must not call a good MAC bad");
  }

  /**
   * A call that held a version when it was zeroized is told why, as a call made just after would be: a client
   * branching on reason SEALED (wait for an unseal) must not be sent waiting by a trim or a delete.
   */
  @Test
  void aCallHoldingAZeroizedVersionIsToldWhyTrimDeleteOrSeal() {
    KeyringConfig config = new KeyringConfig(false, false, false, 0, 1, 1);
    Keyring two = new Keyring("k", "aes256-gcm96", 0, config,
        List.of(new KeyVersion(1, 0, new byte[40], null, null, null, 0),
            new KeyVersion(2, 0, new byte[40], null, null, null, 0)));
    LoadedKeyring l = new LoadedKeyring(two, 1, new LoadedKeyring.Versions());
    VersionKey one = l.version(1, v -> VersionKey.of(1, KeyType.AES256_GCM96, filled(7), null));
    VersionKey latest = l.version(2, v -> VersionKey.of(2, KeyType.AES256_GCM96, filled(9), null));
    byte[] ciphertext = one.encrypt(new byte[] {1, 2, 3}, null);
    byte[] latestCiphertext = latest.encrypt(new byte[] {1, 2, 3}, null);

    // min_decryption_version 2 and a trim: the keyring without version 1 arrives while a decrypt holds version 1
    Keyring trimmed = new Keyring("k", "aes256-gcm96", 0, new KeyringConfig(false, false, false, 0, 2, 1),
        List.of(new KeyVersion(2, 0, new byte[40], null, null, null, 0)));
    LoadedKeyring next = l.next(trimmed, 2);
    dev.keywarden.failure.KeywardenException e = org.junit.jupiter.api.Assertions.assertThrows(
        dev.keywarden.failure.KeywardenException.class, () -> one.decrypt(ciphertext, null));
    assertEquals(dev.keywarden.failure.KeywardenException.Kind.FAILED_PRECONDITION, e.kind());
    org.junit.jupiter.api.Assertions.assertNotEquals("SEALED", e.reason(), e.getMessage());
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("version 1 was trimmed"), e.getMessage());
    e = org.junit.jupiter.api.Assertions.assertThrows(dev.keywarden.failure.KeywardenException.class,
        () -> one.encrypt(new byte[] {1}, null));
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("trimmed"), e.getMessage());

    // the key deleted, then the server sealed: the delete came first, and that is what the holder hears
    next.destroy(VersionKey.Zeroized.DELETED);
    next.destroy(VersionKey.Zeroized.SEALED);
    e = org.junit.jupiter.api.Assertions.assertThrows(dev.keywarden.failure.KeywardenException.class,
        () -> latest.decrypt(latestCiphertext, null));
    assertEquals(dev.keywarden.failure.KeywardenException.Kind.NOT_FOUND, e.kind());
    assertEquals("KEY_NOT_FOUND", e.reason());

    VersionKey sealed = VersionKey.of(3, KeyType.AES256_GCM96, filled(5), null);
    sealed.destroy(VersionKey.Zeroized.SEALED);
    e = org.junit.jupiter.api.Assertions.assertThrows(dev.keywarden.failure.KeywardenException.class,
        () -> sealed.encrypt(new byte[] {1}, null));
    assertEquals(dev.keywarden.failure.KeywardenException.Kind.FAILED_PRECONDITION, e.kind());
    assertEquals("SEALED", e.reason());
  }

  private static byte[] filled(int b) {
    byte[] key = new byte[32];
    java.util.Arrays.fill(key, (byte) b);
    return key;
  }
}
