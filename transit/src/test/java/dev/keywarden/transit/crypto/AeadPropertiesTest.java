package dev.keywarden.transit.crypto;

import static dev.keywarden.testing.Generators.byteFlips;
import static dev.keywarden.testing.Generators.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** Properties every AEAD of ours keeps, for any input. */
class AeadPropertiesTest {

  /** The AEADs under test, each with a fixed key and a second, different one. */
  enum Kind {
    AES_GCM_256 {
      @Override
      Aead make(byte[] key) {
        return Aeads.aesGcm(key);
      }
    },
    CHACHA20_POLY1305 {
      @Override
      Aead make(byte[] key) {
        return Aeads.chacha20Poly1305(key);
      }
    };

    abstract Aead make(byte[] key);
  }

  /** One kind of AEAD with one key (generated together: QuickTheories takes at most four generators). */
  record Keyed(Kind kind, byte[] key) {
    Aead aead() {
      return kind.make(key);
    }

    @Override
    public String toString() {
      return kind + " with key 0x" + HexFormat.of().formatHex(key);
    }
  }

  @SuppressWarnings("unchecked")
  private static Gen<byte[]> plaintexts() {
    return Generate.frequency(
        Pair.of(8, bytes(0, 2048)),
        Pair.of(1, bytes(0, 64 * 1024)));
  }

  private static Gen<byte[]> keys() {
    return bytes(32);
  }

  private static Gen<Keyed> keyedAeads() {
    return Generate.enumValues(Kind.class).zip(keys(), Keyed::new);
  }

  @Test
  void decryptInvertsEncrypt() {
    qt().withExamples(300).forAll(keyedAeads(), plaintexts(), bytes(0, 300)).checkAssert((keyed, plaintext, aad) -> {
      Aead aead = keyed.aead();
      byte[] sealed = aead.encrypt(plaintext, aad);
      assertEquals(12 + plaintext.length + 16, sealed.length);
      assertArrayEquals(plaintext, aead.decrypt(sealed, aad));
    });
  }

  @Test
  void anyChangedByteOfTheOutputIsRefused() {
    qt().withExamples(300).forAll(keyedAeads(), bytes(0, 512), bytes(0, 64), byteFlips(100_000))
        .checkAssert((keyed, plaintext, aad, change) -> {
          Aead aead = keyed.aead();
          byte[] sealed = aead.encrypt(plaintext, aad);
          sealed[change.where() % sealed.length] ^= (byte) change.flip();
          assertRefused(() -> aead.decrypt(sealed, aad));
        });
  }

  @Test
  void truncatedOutputIsRefused() {
    qt().withExamples(200).forAll(keyedAeads(), bytes(0, 256), integers().between(1, 1000))
        .checkAssert((keyed, plaintext, cut) -> {
          Aead aead = keyed.aead();
          byte[] sealed = aead.encrypt(plaintext, null);
          byte[] shorter = Arrays.copyOf(sealed, sealed.length - 1 - (cut % sealed.length));
          assertRefused(() -> aead.decrypt(shorter, null));
        });
  }

  @Test
  void anyChangedByteOfTheAadIsRefused() {
    qt().withExamples(300).forAll(keyedAeads(), bytes(0, 512), bytes(1, 64), byteFlips(1000))
        .checkAssert((keyed, plaintext, aad, change) -> {
          Aead aead = keyed.aead();
          byte[] sealed = aead.encrypt(plaintext, aad);
          byte[] otherAad = aad.clone();
          otherAad[change.where() % otherAad.length] ^= (byte) change.flip();
          assertRefused(() -> aead.decrypt(sealed, otherAad));
          byte[] longerAad = Arrays.copyOf(aad, aad.length + 1);
          assertRefused(() -> aead.decrypt(sealed, longerAad));
        });
  }

  @Test
  void aDifferentKeyIsRefused() {
    qt().withExamples(200).forAll(keyedAeads(), keys(), bytes(0, 512), bytes(0, 64))
        .checkAssert((keyed, otherKey, plaintext, aad) -> {
          if (Arrays.equals(keyed.key(), otherKey)) {
            return;
          }
          byte[] sealed = keyed.aead().encrypt(plaintext, aad);
          assertRefused(() -> keyed.kind().make(otherKey).decrypt(sealed, aad));
        });
  }

  @Test
  void convergentEncryptionIsDeterministicPerKeyPlaintextAndAad() {
    qt().withExamples(200).forAll(keyedAeads(), bytes(0, 1024), bytes(0, 64)).checkAssert((keyed, plaintext, aad) -> {
      Aead aead = keyed.aead();
      byte[] key = keyed.key();
      byte[] first = aead.encryptWithNonce(KeyDerivation.convergentNonce(key, plaintext, aad), plaintext, aad);
      byte[] second = aead.encryptWithNonce(KeyDerivation.convergentNonce(key, plaintext, aad), plaintext, aad);
      assertArrayEquals(first, second);
      assertArrayEquals(plaintext, aead.decrypt(first, aad));
    });
  }

  @Test
  void convergentEncryptionOfDifferentPlaintextsDiffers() {
    qt().withExamples(200).forAll(keyedAeads(), bytes(0, 1024), bytes(0, 1024), bytes(0, 64))
        .checkAssert((keyed, plaintext, otherPlaintext, aad) -> {
          if (Arrays.equals(plaintext, otherPlaintext)) {
            return;
          }
          Aead aead = keyed.aead();
          byte[] key = keyed.key();
          byte[] first = aead.encryptWithNonce(KeyDerivation.convergentNonce(key, plaintext, aad), plaintext, aad);
          byte[] second = aead.encryptWithNonce(KeyDerivation.convergentNonce(key, otherPlaintext, aad),
              otherPlaintext, aad);
          assertFalse(Arrays.equals(first, second));
          assertFalse(Arrays.equals(Arrays.copyOf(first, 12), Arrays.copyOf(second, 12)), "nonces differ");
        });
  }

  @Test
  void derivationIsAFunctionOfTheContext() {
    qt().withExamples(200).forAll(keys(), bytes(0, 64), bytes(0, 64)).checkAssert((key, context, otherContext) -> {
      byte[] derived = KeyDerivation.derive(key, context);
      assertEquals(32, derived.length);
      assertArrayEquals(derived, KeyDerivation.derive(key, context.clone()));
      if (!Arrays.equals(context, otherContext)) {
        assertFalse(Arrays.equals(derived, KeyDerivation.derive(key, otherContext)));
      }
    });
  }

  static void assertRefused(org.junit.jupiter.api.function.Executable decryption) {
    KeywardenException e = assertThrows(KeywardenException.class, decryption);
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals("ciphertext failed authentication (altered, truncated, wrong key or wrong context)", e.getMessage());
  }
}
