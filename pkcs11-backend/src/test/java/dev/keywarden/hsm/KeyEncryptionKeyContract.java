package dev.keywarden.hsm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What every {@link HsmProvider} and its KEKs must do; one subclass per implementation. */
public abstract class KeyEncryptionKeyContract {

  private HsmProvider provider;
  private char[] pin;
  private Hsm hsm;
  private KeyEncryptionKey kek;
  private final Random random = new Random(42);

  /** A provider for a fresh, empty HSM. */
  protected abstract HsmProvider newProvider();

  /** The PIN that opens it. */
  protected abstract char[] pin();

  @BeforeEach
  void openHsm() {
    provider = newProvider();
    pin = pin();
    hsm = provider.open(pin);
    kek = hsm.kek(hsm.generateKek("kek-" + getClass().getSimpleName()));
  }

  @AfterEach
  void closeHsm() {
    if (hsm != null) {
      hsm.close();
    }
    Arrays.fill(pin, '\0');
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 8, 16, 32, 64, 4096})
  void wrapThenUnwrapReturnsTheKeyMaterial(int length) {
    byte[] material = randomBytes(length);
    byte[] wrapped = kek.wrap(material);
    assertEquals(8 + ((length + 7) / 8) * 8, wrapped.length, "RFC 5649 output length");
    if (length >= 8) { // shorter prefixes match by chance (1 in 256 for one byte)
      assertFalse(Arrays.equals(Arrays.copyOf(wrapped, length), material), "wrapped blob must not start with the input");
    }
    assertArrayEquals(material, kek.unwrap(wrapped));
  }

  @Test
  void keyMaterialThatEndsInZerosOr0x80RoundTrips() {
    byte[][] awkward = {
        {0}, {(byte) 0x80}, {1, (byte) 0x80}, {1, (byte) 0x80, 0, 0},
        {1, 2, 3, 4, 5, 6, 7, (byte) 0x80}, {1, 2, 3, 4, 5, 6, (byte) 0x80, 0}, new byte[8], new byte[16],
        {1, 2, 3, 4, 5, 6, 7, 8, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0}, {1, 2, 3, 0, 0, 0, 0},
    };
    for (byte[] material : awkward) {
      assertArrayEquals(material, kek.unwrap(kek.wrap(material)), Arrays.toString(material));
    }
  }

  @Test
  void everyFlippedBitInTheWrappedKeyIsRejected() {
    byte[] wrapped = kek.wrap(randomBytes(32));
    for (int bit = 0; bit < wrapped.length * 8; bit += 7) {
      byte[] altered = wrapped.clone();
      altered[bit / 8] ^= (byte) (1 << (bit % 8));
      assertIntegrityFailure(() -> kek.unwrap(altered));
    }
  }

  @Test
  void truncatedOrExtendedWrappedKeyIsRejected() {
    byte[] wrapped = kek.wrap(randomBytes(32));
    assertIntegrityFailure(() -> kek.unwrap(Arrays.copyOf(wrapped, wrapped.length - 8)));
    assertIntegrityFailure(() -> kek.unwrap(Arrays.copyOf(wrapped, wrapped.length + 8)));
    assertIntegrityFailure(() -> kek.unwrap(Arrays.copyOf(wrapped, wrapped.length - 1)));
    assertIntegrityFailure(() -> kek.unwrap(new byte[8]));
  }

  @Test
  void keyWrappedByAnotherKekIsRejected() {
    KeyEncryptionKey other = hsm.kek(hsm.generateKek("other-kek"));
    byte[] wrappedByOther = other.wrap(randomBytes(32));
    assertIntegrityFailure(() -> kek.unwrap(wrappedByOther));
  }

  @Test
  void emptyAndOversizedKeyMaterialAreInvalidArguments() {
    assertEquals(Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class, () -> kek.wrap(new byte[0])).kind());
    assertEquals(Kind.INVALID_ARGUMENT,
        assertThrows(KeywardenException.class, () -> kek.wrap(new byte[4097])).kind());
    assertEquals(Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class, () -> kek.wrap(null)).kind());
    assertEquals(Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class, () -> kek.unwrap(null)).kind());
  }

  @Test
  void sixteenThreadsWrappingAndUnwrappingConcurrentlyAllRoundTrip() throws Exception {
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
            byte[] material = new byte[1 + local.nextInt(64)];
            local.nextBytes(material);
            assertArrayEquals(material, kek.unwrap(kek.wrap(material)));
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
  void usingAKekAfterCloseFailsAsSealed() {
    byte[] wrapped = kek.wrap(randomBytes(16));
    KekIdentity identity = kek.identity();
    hsm.close();
    assertEquals(Kind.FAILED_PRECONDITION,
        assertThrows(KeywardenException.class, () -> kek.wrap(randomBytes(16))).kind());
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> kek.unwrap(wrapped)).kind());
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.kek(identity)).kind());
    assertEquals(Kind.FAILED_PRECONDITION,
        assertThrows(KeywardenException.class, () -> hsm.generateKek("late")).kind());
    hsm.close(); // idempotent
  }

  @Test
  void openingAndClosingTwentyTimesKeepsOldWrappedKeysReadable() {
    byte[] material = randomBytes(32);
    byte[] wrapped = kek.wrap(material);
    KekIdentity identity = kek.identity();
    hsm.close();
    for (int i = 0; i < 20; i++) {
      char[] again = pin();
      Hsm reopened = provider.open(again);
      Arrays.fill(again, '\0');
      try {
        KeyEncryptionKey found = reopened.kek(identity);
        assertArrayEquals(material, found.unwrap(wrapped), "cycle " + i);
        assertArrayEquals(material, found.unwrap(found.wrap(material)), "cycle " + i);
      } finally {
        reopened.close();
      }
    }
    hsm = provider.open(pin);
  }

  @Test
  void generatingTwoKeksWithOneLabelIsAlreadyExists() {
    hsm.generateKek("twice");
    assertEquals(Kind.ALREADY_EXISTS, assertThrows(KeywardenException.class, () -> hsm.generateKek("twice")).kind());
  }

  @Test
  void toStringsHoldNoPin() {
    String secret = new String(pin);
    for (Object o : List.of(provider, hsm, kek, hsm.info(), kek.identity())) {
      assertFalse(o.toString().contains(secret), o.getClass().getSimpleName() + ".toString() shows the PIN");
    }
  }

  protected static void assertIntegrityFailure(org.junit.jupiter.api.function.Executable unwrap) {
    KeywardenException e = assertThrows(KeywardenException.class, unwrap);
    assertEquals(Kind.FAILED_PRECONDITION, e.kind(), e.getMessage());
    assertEquals("wrapped key failed its integrity check (altered, or wrapped by another KEK)", e.getMessage());
  }

  private byte[] randomBytes(int length) {
    byte[] b = new byte[length];
    random.nextBytes(b);
    return b;
  }
}
