package dev.keywarden.transit.crypto;

import static dev.keywarden.transit.crypto.AeadPropertiesTest.assertRefused;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AeadsTest {

  private static final byte[] KEY = new byte[32];

  static {
    for (int i = 0; i < KEY.length; i++) {
      KEY[i] = (byte) (i * 7 + 1);
    }
  }

  private static List<Aead> both() {
    return List.of(Aeads.aesGcm(KEY), Aeads.chacha20Poly1305(KEY));
  }

  @ParameterizedTest
  @ValueSource(ints = {16, 24, 32})
  void aesGcmTakesAes128192And256Keys(int length) {
    Aead aead = Aeads.aesGcm(Arrays.copyOf(KEY, length));
    assertArrayEquals(new byte[] {1, 2, 3}, aead.decrypt(aead.encrypt(new byte[] {1, 2, 3}, null), null));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 15, 17, 31, 33, 64})
  void otherKeyLengthsAreRefused(int length) {
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT,
        assertThrows(KeywardenException.class, () -> Aeads.aesGcm(new byte[length])).kind());
    if (length != 32) {
      assertEquals(KeywardenException.Kind.INVALID_ARGUMENT,
          assertThrows(KeywardenException.class, () -> Aeads.chacha20Poly1305(new byte[length])).kind());
    }
  }

  @Test
  void destroyZeroizesTheKeyAndLaterCallsFailAsSealed() throws Exception {
    for (Aead aead : both()) {
      byte[] sealed = aead.encrypt(new byte[] {1, 2, 3}, null);
      javax.crypto.SecretKey key = (javax.crypto.SecretKey) aead;
      assertArrayEquals(KEY, key.getEncoded());
      aead.destroy();
      assertTrue(key.isDestroyed());
      java.lang.reflect.Field held = JcaAead.class.getDeclaredField("key");
      held.setAccessible(true);
      assertArrayEquals(new byte[KEY.length], (byte[]) held.get(aead), "the key bytes are zeroed");
      for (org.junit.jupiter.api.function.Executable use : List.<org.junit.jupiter.api.function.Executable>of(
          () -> aead.encrypt(new byte[] {1}, null), () -> aead.decrypt(sealed, null), key::getEncoded)) {
        KeywardenException e = assertThrows(KeywardenException.class, use);
        assertEquals(KeywardenException.Kind.FAILED_PRECONDITION, e.kind());
      }
    }
  }

  @Test
  void aCallRacingDestroyEitherFailsAsSealedOrEncryptsUnderTheRealKey() throws Exception {
    Aead reference = Aeads.aesGcm(KEY);
    for (int trial = 0; trial < 300; trial++) {
      Aead aead = Aeads.aesGcm(KEY);
      List<byte[]> sealed = java.util.Collections.synchronizedList(new ArrayList<>());
      java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
      Thread caller = new Thread(() -> {
        started.countDown();
        try {
          while (true) {
            sealed.add(aead.encrypt(new byte[] {1, 2, 3}, null));
          }
        } catch (KeywardenException sealedMeanwhile) {
          assertEquals(KeywardenException.Kind.FAILED_PRECONDITION, sealedMeanwhile.kind());
        }
      });
      caller.start();
      started.await();
      Thread.sleep(0, 20_000 + trial * 100);
      aead.destroy();
      caller.join(10_000);
      for (byte[] c : sealed) {
        // never a ciphertext under a key half or wholly zeroized: each decrypts under the real key
        assertArrayEquals(new byte[] {1, 2, 3}, reference.decrypt(c, null));
      }
    }
  }

  @Test
  void theKeyIsNeverSerialized() {
    Aead aead = Aeads.aesGcm(KEY);
    assertThrows(java.io.NotSerializableException.class,
        () -> new java.io.ObjectOutputStream(java.io.OutputStream.nullOutputStream()).writeObject(aead));
  }

  @Test
  void theKeyIsCopiedSoLaterChangesToTheCallersArrayDoNotMatter() {
    byte[] key = KEY.clone();
    Aead aead = Aeads.aesGcm(key);
    byte[] sealed = aead.encrypt(new byte[] {9}, null);
    Arrays.fill(key, (byte) 0);
    assertArrayEquals(new byte[] {9}, aead.decrypt(sealed, null));
  }

  @Test
  void outputsShorterThanNoncePlusTagAreRefused() {
    for (Aead aead : both()) {
      for (int n = 0; n < 28; n++) {
        byte[] tooShort = new byte[n];
        assertRefused(() -> aead.decrypt(tooShort, null));
      }
    }
  }

  @Test
  void nullAndEmptyAadAreTheSame() {
    for (Aead aead : both()) {
      assertArrayEquals(new byte[] {5}, aead.decrypt(aead.encrypt(new byte[] {5}, null), new byte[0]));
      assertArrayEquals(new byte[] {5}, aead.decrypt(aead.encrypt(new byte[] {5}, new byte[0]), null));
    }
  }

  @Test
  void freshNoncesDifferBetweenCalls() {
    for (Aead aead : both()) {
      byte[] a = aead.encrypt(new byte[16], null);
      byte[] b = aead.encrypt(new byte[16], null);
      assertFalse(Arrays.equals(Arrays.copyOf(a, 12), Arrays.copyOf(b, 12)));
    }
  }

  @Test
  void randomNoncesStayDistinctAcrossBatchBoundaries() {
    java.util.Set<String> seen = new java.util.HashSet<>();
    Aead aead = Aeads.aesGcm(KEY);
    for (int i = 0; i < 10_000; i++) {
      byte[] nonce = Arrays.copyOf(aead.encrypt(new byte[0], null), 12);
      assertFalse(Arrays.equals(new byte[12], nonce), "a wiped batch slot was handed out");
      assertEquals(true, seen.add(java.util.HexFormat.of().formatHex(nonce)));
    }
  }

  @Test
  void encryptingTwiceWithTheSameNonceOnOneThreadWorks() {
    // The JDK refuses to reuse key and nonce on one Cipher; convergent encryption needs exactly that.
    byte[] nonce = new byte[12];
    for (Aead aead : both()) {
      byte[] first = aead.encryptWithNonce(nonce, new byte[] {1}, null);
      byte[] second = aead.encryptWithNonce(nonce, new byte[] {1}, null);
      assertArrayEquals(first, second);
    }
  }

  @Test
  void decryptingTheSameCiphertextTwiceOnOneThreadWorks() {
    // JDK ChaCha20-Poly1305 refuses a repeated key and nonce in decrypt mode as well.
    for (Aead aead : both()) {
      byte[] sealed = aead.encrypt(new byte[] {1, 2}, null);
      assertArrayEquals(new byte[] {1, 2}, aead.decrypt(sealed, null));
      assertArrayEquals(new byte[] {1, 2}, aead.decrypt(sealed, null));
      byte[] convergent = aead.encryptWithNonce(Arrays.copyOf(sealed, 12), new byte[] {1, 2}, null);
      assertArrayEquals(sealed, convergent);
      assertArrayEquals(new byte[] {1, 2}, aead.decrypt(convergent, null));
    }
  }

  @Test
  void encryptWithNonceRefusesNoncesThatAreNot12Bytes() {
    for (Aead aead : both()) {
      for (int n : new int[] {0, 8, 11, 13, 16}) {
        byte[] nonce = new byte[n];
        assertEquals(KeywardenException.Kind.INVALID_ARGUMENT,
            assertThrows(KeywardenException.class, () -> aead.encryptWithNonce(nonce, new byte[1], null)).kind());
      }
    }
  }

  @Test
  void aesGcmOutputIsNonceThenJdkCiphertextAndTag() throws Exception {
    byte[] plaintext = "layout".getBytes(StandardCharsets.UTF_8);
    byte[] aad = "aad".getBytes(StandardCharsets.UTF_8);
    byte[] sealed = Aeads.aesGcm(KEY).encrypt(plaintext, aad);
    Cipher jdk = Cipher.getInstance("AES/GCM/NoPadding");
    jdk.init(Cipher.DECRYPT_MODE, new SecretKeySpec(KEY, "AES"), new GCMParameterSpec(128, sealed, 0, 12));
    jdk.updateAAD(aad);
    assertArrayEquals(plaintext, jdk.doFinal(sealed, 12, sealed.length - 12));
  }

  @Test
  void oneAeadServesManyThreadsAndManyKeysShareThreads() throws Exception {
    List<Aead> aeads = new ArrayList<>();
    for (int k = 0; k < 8; k++) {
      byte[] key = KEY.clone();
      key[0] = (byte) k;
      aeads.add(k % 2 == 0 ? Aeads.aesGcm(key) : Aeads.chacha20Poly1305(key));
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int seed = t;
        futures.add(pool.submit(() -> {
          for (int i = 0; i < 2000; i++) {
            Aead aead = aeads.get((seed + i) % aeads.size());
            byte[] plaintext = new byte[i % 300];
            Arrays.fill(plaintext, (byte) i);
            byte[] aad = {(byte) seed};
            byte[] sealed = aead.encrypt(plaintext, aad);
            assertArrayEquals(plaintext, aead.decrypt(sealed, aad));
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
