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
    Thread seal = new Thread(l::destroy);
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
    next.destroy();
    // a request still holding the old generation cannot add a key the unload will never see
    assertNull(old.version(1, v -> VersionKey.of(1, KeyType.AES256_GCM96, material, null)));
  }
}
