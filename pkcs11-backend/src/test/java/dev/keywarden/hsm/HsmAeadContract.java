package dev.keywarden.hsm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What every {@link HsmProvider} and its {@link HsmAead} keys must do; one subclass per implementation. */
public abstract class HsmAeadContract {

  private static final byte[] AAD = "transit/keys/orders|v1".getBytes(StandardCharsets.UTF_8);

  private HsmProvider provider;
  private char[] pin;
  private Hsm hsm;
  private HsmAead aead;
  private final Random random = new Random(7);

  /** A provider for a fresh, empty HSM. */
  protected abstract HsmProvider newProvider();

  /** The PIN that opens it. */
  protected abstract char[] pin();

  @BeforeEach
  void openHsm() {
    provider = newProvider();
    pin = pin();
    hsm = provider.open(pin);
    aead = hsm.aesKey(hsm.generateAesKey("aes-" + getClass().getSimpleName()));
  }

  @AfterEach
  void closeHsm() {
    if (hsm != null) {
      hsm.close();
    }
    Arrays.fill(pin, '\0');
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 16, 1024, 65536})
  void encryptThenDecryptReturnsThePlaintextWithAndWithoutAad(int length) {
    byte[] plaintext = randomBytes(length);
    for (byte[] aad : new byte[][] {null, new byte[0], AAD}) {
      byte[] blob = aead.encrypt(plaintext, aad);
      assertEquals(AesGcmLayout.NONCE_BYTES + length + AesGcmLayout.TAG_BYTES, blob.length, "nonce || ct || tag");
      if (length >= 16) {
        assertFalse(Arrays.equals(Arrays.copyOfRange(blob, 12, 12 + length), plaintext), "ciphertext is plaintext");
      }
      assertArrayEquals(plaintext, aead.decrypt(blob, aad));
    }
  }

  @Test
  void noAadAndEmptyAadAreTheSame() {
    byte[] plaintext = randomBytes(20);
    assertArrayEquals(plaintext, aead.decrypt(aead.encrypt(plaintext, null), new byte[0]));
    assertArrayEquals(plaintext, aead.decrypt(aead.encrypt(plaintext, new byte[0]), null));
  }

  @Test
  void everyFlippedBitIsRefused() {
    for (int length : new int[] {0, 33}) {
      byte[] blob = aead.encrypt(randomBytes(length), AAD);
      for (int bit = 0; bit < blob.length * 8; bit++) {
        byte[] altered = blob.clone();
        altered[bit / 8] ^= (byte) (1 << (bit % 8));
        assertAuthenticationFailure(() -> aead.decrypt(altered, AAD));
      }
    }
  }

  @Test
  void wrongAadIsRefused() {
    byte[] blob = aead.encrypt(randomBytes(40), AAD);
    assertAuthenticationFailure(() -> aead.decrypt(blob, null));
    assertAuthenticationFailure(() -> aead.decrypt(blob, "transit/keys/orders|v2".getBytes(StandardCharsets.UTF_8)));
    assertAuthenticationFailure(() -> aead.decrypt(Arrays.copyOf(blob, blob.length), Arrays.copyOf(AAD, 5)));
    byte[] noAad = aead.encrypt(randomBytes(40), null);
    assertAuthenticationFailure(() -> aead.decrypt(noAad, AAD));
    assertAuthenticationFailure(() -> aead.decrypt(noAad, new byte[1]));
  }

  @Test
  void truncatedOrExtendedBlobIsRefused() {
    byte[] blob = aead.encrypt(randomBytes(40), AAD);
    for (int length = 0; length < blob.length; length++) {
      byte[] truncated = Arrays.copyOf(blob, length);
      assertAuthenticationFailure(() -> aead.decrypt(truncated, AAD));
    }
    assertAuthenticationFailure(() -> aead.decrypt(Arrays.copyOfRange(blob, 1, blob.length), AAD));
    assertAuthenticationFailure(() -> aead.decrypt(Arrays.copyOf(blob, blob.length + 1), AAD));
    assertAuthenticationFailure(() -> aead.decrypt(new byte[AesGcmLayout.MIN_BLOB_BYTES], null));
  }

  @Test
  void blobFromAnotherKeyIsRefused() {
    HsmAead other = hsm.aesKey(hsm.generateAesKey("other-aes"));
    byte[] byOther = other.encrypt(randomBytes(32), AAD);
    assertAuthenticationFailure(() -> aead.decrypt(byOther, AAD));
    byte[] emptyByOther = other.encrypt(new byte[0], null);
    assertAuthenticationFailure(() -> aead.decrypt(emptyByOther, null));
  }

  @Test
  void missingPlaintextOrCiphertextIsInvalidArgument() {
    assertEquals(Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class, () -> aead.encrypt(null, AAD)).kind());
    assertEquals(Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class, () -> aead.decrypt(null, AAD)).kind());
  }

  @Test
  void noncesDifferAcrossAThousandEncryptionsOfTheSameInput() {
    byte[] plaintext = randomBytes(16);
    Set<String> nonces = new HashSet<>();
    Set<String> blobs = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      byte[] blob = aead.encrypt(plaintext, AAD);
      nonces.add(HexFormat.of().formatHex(blob, 0, AesGcmLayout.NONCE_BYTES));
      blobs.add(HexFormat.of().formatHex(blob));
    }
    assertEquals(1000, nonces.size());
    assertEquals(1000, blobs.size());
  }

  @Test
  void sixteenThreadsEncryptingAndDecryptingConcurrentlyAllRoundTrip() throws Exception {
    int threads = 16;
    int rounds = 200;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Integer>> results = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        int seed = t;
        results.add(pool.submit(() -> {
          Random local = new Random(seed);
          start.await();
          int done = 0;
          for (int i = 0; i < rounds; i++) {
            byte[] plaintext = new byte[local.nextInt(100)];
            local.nextBytes(plaintext);
            byte[] aad = local.nextBoolean() ? null : Arrays.copyOf(plaintext, plaintext.length / 2);
            assertArrayEquals(plaintext, aead.decrypt(aead.encrypt(plaintext, aad), aad));
            done++;
          }
          return done;
        }));
      }
      start.countDown();
      for (Future<Integer> result : results) {
        assertEquals(rounds, result.get(120, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void usingADestroyedKeyFailsAsGone() {
    byte[] blob = aead.encrypt(randomBytes(16), AAD);
    HsmKeyId id = aead.id();
    hsm.destroyKey(id);
    assertEquals(Kind.FAILED_PRECONDITION,
        assertThrows(KeywardenException.class, () -> aead.encrypt(randomBytes(16), AAD)).kind());
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> aead.decrypt(blob, AAD)).kind());
    KeywardenException e = assertThrows(KeywardenException.class, () -> hsm.aesKey(id));
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("no longer holds key '" + id.label() + "' (id " + id.idHex() + ")"),
        e.getMessage());
    assertEquals(Kind.NOT_FOUND, assertThrows(KeywardenException.class, () -> hsm.destroyKey(id)).kind());
  }

  @Test
  void destroyingOneKeyLeavesTheOthers() {
    HsmAead other = hsm.aesKey(hsm.generateAesKey("survivor"));
    byte[] plaintext = randomBytes(24);
    byte[] blob = other.encrypt(plaintext, AAD);
    hsm.destroyKey(aead.id());
    assertArrayEquals(plaintext, other.decrypt(blob, AAD));
    assertArrayEquals(plaintext, hsm.aesKey(other.id()).decrypt(blob, AAD));
  }

  @Test
  void aLabelIsFreeAgainOnceItsKeyIsDestroyed() {
    HsmKeyId first = hsm.generateAesKey("reused");
    hsm.destroyKey(first);
    HsmKeyId second = hsm.generateAesKey("reused");
    assertFalse(first.idHex().equals(second.idHex()));
    byte[] plaintext = randomBytes(8);
    assertArrayEquals(plaintext, hsm.aesKey(second).decrypt(hsm.aesKey(second).encrypt(plaintext, null), null));
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.aesKey(first)).kind());
  }

  @Test
  void usingAKeyAfterCloseFailsAsSealed() {
    byte[] blob = aead.encrypt(randomBytes(16), AAD);
    HsmKeyId id = aead.id();
    hsm.close();
    assertEquals(Kind.FAILED_PRECONDITION,
        assertThrows(KeywardenException.class, () -> aead.encrypt(randomBytes(16), AAD)).kind());
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> aead.decrypt(blob, AAD)).kind());
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.aesKey(id)).kind());
    assertEquals(Kind.FAILED_PRECONDITION,
        assertThrows(KeywardenException.class, () -> hsm.generateAesKey("late")).kind());
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.destroyKey(id)).kind());
    hsm.close(); // idempotent
  }

  @Test
  void reopeningKeepsOldCiphertextDecryptable() {
    byte[] plaintext = randomBytes(32);
    byte[] blob = aead.encrypt(plaintext, AAD);
    HsmKeyId id = aead.id();
    hsm.close();
    for (int i = 0; i < 3; i++) {
      char[] again = pin();
      Hsm reopened = provider.open(again);
      Arrays.fill(again, '\0');
      try {
        HsmAead found = reopened.aesKey(id);
        assertArrayEquals(plaintext, found.decrypt(blob, AAD), "cycle " + i);
        assertArrayEquals(plaintext, found.decrypt(found.encrypt(plaintext, AAD), AAD), "cycle " + i);
      } finally {
        reopened.close();
      }
    }
    hsm = provider.open(pin);
  }

  @Test
  void generatingTwoKeysWithOneLabelIsAlreadyExists() {
    hsm.generateAesKey("twice");
    assertEquals(Kind.ALREADY_EXISTS,
        assertThrows(KeywardenException.class, () -> hsm.generateAesKey("twice")).kind());
    hsm.generateKek("kek-label");
    assertEquals(Kind.ALREADY_EXISTS,
        assertThrows(KeywardenException.class, () -> hsm.generateAesKey("kek-label")).kind());
    assertEquals(Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class, () -> hsm.generateAesKey(" ")).kind());
  }

  @Test
  void toStringsHoldNoPin() {
    String secret = new String(pin);
    for (Object o : List.of(provider, hsm, aead, aead.id())) {
      assertFalse(o.toString().contains(secret), o.getClass().getSimpleName() + ".toString() shows the PIN");
    }
  }

  protected static void assertAuthenticationFailure(Executable decrypt) {
    KeywardenException e = assertThrows(KeywardenException.class, decrypt);
    assertEquals(Kind.INVALID_ARGUMENT, e.kind(), e.getMessage());
    assertEquals("ciphertext failed authentication (altered, truncated, wrong key or wrong context)", e.getMessage());
  }

  private byte[] randomBytes(int length) {
    byte[] b = new byte[length];
    random.nextBytes(b);
    return b;
  }
}
