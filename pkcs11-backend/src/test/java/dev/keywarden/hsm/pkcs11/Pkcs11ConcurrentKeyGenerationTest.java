package dev.keywarden.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import dev.keywarden.hsm.testing.SoftHsmToken;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Many token keys made and destroyed at once through a 16-session pool, as 32 concurrent transit rotations of an
 * {@code -hsm} key type do. Before token-object writes were serialized, SoftHSM2 2.6.1 failed some of these with
 * CKR_GENERAL_ERROR (see {@link Pkcs11Hsm}'s class comment for the measurement).
 */
class Pkcs11ConcurrentKeyGenerationTest {

  private static final int THREADS = 32;
  private static final int KEYS_PER_THREAD = 5;

  @Test
  void thirtyTwoThreadsGeneratingAndDestroyingTokenKeysThroughSixteenSessionsNeverFail() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(16).open(softHsm.pin())) {
      ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<HsmKeyId> made = new ConcurrentLinkedQueue<>();
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> running = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        running.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < KEYS_PER_THREAD; i++) {
            try {
              HsmKeyId id = hsm.generateAesKey("concurrent-" + thread + "-" + i);
              byte[] plaintext = ("t" + thread + "k" + i).getBytes(StandardCharsets.UTF_8);
              assertArrayEquals(plaintext, hsm.aesKey(id).decrypt(hsm.aesKey(id).encrypt(plaintext, null), null));
              if (i % 2 == 0) {
                hsm.destroyKey(id); // destruction is a token-object write too, interleaved with generation
              } else {
                made.add(id);
              }
            } catch (RuntimeException e) {
              failures.add("thread " + thread + " key " + i + ": " + e.getMessage());
            }
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> f : running) {
        f.get(5, TimeUnit.MINUTES);
      }
      pool.shutdown();
      assertEquals(List.of(), List.copyOf(failures), failures.size() + " of " + THREADS * KEYS_PER_THREAD + " failed");
      // Not hidden by the recovery either: a CKR_GENERAL_ERROR would have cost a reconnect and a retry.
      assertEquals(0, hsm.reconnects(), "reconnects");
      // Everything kept is still there and usable once the storm is over.
      for (HsmKeyId id : made) {
        hsm.aesKey(id).encrypt(new byte[] {1}, null);
      }
    }
  }

  @Test
  void keyPairsGeneratedConcurrentlyAllSign() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(16).open(softHsm.pin())) {
      ExecutorService pool = Executors.newFixedThreadPool(16);
      ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      List<Future<?>> running = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        int thread = t;
        running.add(pool.submit(() -> {
          try {
            HsmKeyId id = hsm.generateKeyPair("pair-" + thread, KeyPairAlgorithm.EC_P256);
            hsm.signer(id).sign(SignatureAlgorithm.ECDSA_SHA256, new byte[] {1, 2, 3});
          } catch (RuntimeException e) {
            failures.add("thread " + thread + ": " + e.getMessage());
          }
        }));
      }
      for (Future<?> f : running) {
        f.get(5, TimeUnit.MINUTES);
      }
      pool.shutdown();
      assertEquals(List.of(), List.copyOf(failures));
      assertEquals(0, hsm.reconnects(), "reconnects");
    }
  }
}
