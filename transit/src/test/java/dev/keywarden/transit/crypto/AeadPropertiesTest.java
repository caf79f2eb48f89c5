package dev.keywarden.transit.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.failure.KeywardenException;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

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

  @Provide
  Arbitrary<byte[]> plaintexts() {
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(8, Arbitraries.bytes().array(byte[].class).ofMaxSize(2048)),
        net.jqwik.api.Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(64 * 1024)));
  }

  @Provide
  Arbitrary<byte[]> keys() {
    return Arbitraries.bytes().array(byte[].class).ofSize(32);
  }

  @Property(tries = 300)
  void decryptInvertsEncrypt(@ForAll Kind kind, @ForAll("keys") byte[] key, @ForAll("plaintexts") byte[] plaintext,
      @ForAll @Size(max = 300) byte[] aad) {
    Aead aead = kind.make(key);
    byte[] sealed = aead.encrypt(plaintext, aad);
    assertEquals(12 + plaintext.length + 16, sealed.length);
    assertArrayEquals(plaintext, aead.decrypt(sealed, aad));
  }

  @Property(tries = 300)
  void anyChangedByteOfTheOutputIsRefused(@ForAll Kind kind, @ForAll("keys") byte[] key,
      @ForAll @Size(max = 512) byte[] plaintext, @ForAll @Size(max = 64) byte[] aad,
      @ForAll @IntRange(min = 0, max = 100_000) int where, @ForAll @IntRange(min = 1, max = 255) int flip) {
    Aead aead = kind.make(key);
    byte[] sealed = aead.encrypt(plaintext, aad);
    sealed[where % sealed.length] ^= (byte) flip;
    assertRefused(() -> aead.decrypt(sealed, aad));
  }

  @Property(tries = 200)
  void truncatedOutputIsRefused(@ForAll Kind kind, @ForAll("keys") byte[] key,
      @ForAll @Size(max = 256) byte[] plaintext, @ForAll @IntRange(min = 1, max = 1000) int cut) {
    Aead aead = kind.make(key);
    byte[] sealed = aead.encrypt(plaintext, null);
    byte[] shorter = Arrays.copyOf(sealed, sealed.length - 1 - (cut % sealed.length));
    assertRefused(() -> aead.decrypt(shorter, null));
  }

  @Property(tries = 300)
  void anyChangedByteOfTheAadIsRefused(@ForAll Kind kind, @ForAll("keys") byte[] key,
      @ForAll @Size(max = 512) byte[] plaintext, @ForAll @Size(min = 1, max = 64) byte[] aad,
      @ForAll @IntRange(min = 0, max = 1000) int where, @ForAll @IntRange(min = 1, max = 255) int flip) {
    Aead aead = kind.make(key);
    byte[] sealed = aead.encrypt(plaintext, aad);
    byte[] otherAad = aad.clone();
    otherAad[where % otherAad.length] ^= (byte) flip;
    assertRefused(() -> aead.decrypt(sealed, otherAad));
    byte[] longerAad = Arrays.copyOf(aad, aad.length + 1);
    assertRefused(() -> aead.decrypt(sealed, longerAad));
  }

  @Property(tries = 200)
  void aDifferentKeyIsRefused(@ForAll Kind kind, @ForAll("keys") byte[] key, @ForAll("keys") byte[] otherKey,
      @ForAll @Size(max = 512) byte[] plaintext, @ForAll @Size(max = 64) byte[] aad) {
    if (Arrays.equals(key, otherKey)) {
      return;
    }
    byte[] sealed = kind.make(key).encrypt(plaintext, aad);
    assertRefused(() -> kind.make(otherKey).decrypt(sealed, aad));
  }

  @Property(tries = 200)
  void convergentEncryptionIsDeterministicPerKeyPlaintextAndAad(@ForAll Kind kind, @ForAll("keys") byte[] key,
      @ForAll @Size(max = 1024) byte[] plaintext, @ForAll @Size(max = 64) byte[] aad) {
    Aead aead = kind.make(key);
    byte[] first = aead.encryptWithNonce(KeyDerivation.convergentNonce(key, plaintext, aad), plaintext, aad);
    byte[] second = aead.encryptWithNonce(KeyDerivation.convergentNonce(key, plaintext, aad), plaintext, aad);
    assertArrayEquals(first, second);
    assertArrayEquals(plaintext, aead.decrypt(first, aad));
  }

  @Property(tries = 200)
  void convergentEncryptionOfDifferentPlaintextsDiffers(@ForAll Kind kind, @ForAll("keys") byte[] key,
      @ForAll @Size(max = 1024) byte[] plaintext, @ForAll @Size(max = 1024) byte[] otherPlaintext,
      @ForAll @Size(max = 64) byte[] aad) {
    if (Arrays.equals(plaintext, otherPlaintext)) {
      return;
    }
    Aead aead = kind.make(key);
    byte[] first = aead.encryptWithNonce(KeyDerivation.convergentNonce(key, plaintext, aad), plaintext, aad);
    byte[] second = aead.encryptWithNonce(KeyDerivation.convergentNonce(key, otherPlaintext, aad), otherPlaintext, aad);
    assertFalse(Arrays.equals(first, second));
    assertFalse(Arrays.equals(Arrays.copyOf(first, 12), Arrays.copyOf(second, 12)), "nonces differ");
  }

  @Property(tries = 200)
  void derivationIsAFunctionOfTheContext(@ForAll("keys") byte[] key, @ForAll @Size(max = 64) byte[] context,
      @ForAll @Size(max = 64) byte[] otherContext) {
    byte[] derived = KeyDerivation.derive(key, context);
    assertEquals(32, derived.length);
    assertArrayEquals(derived, KeyDerivation.derive(key, context.clone()));
    if (!Arrays.equals(context, otherContext)) {
      assertFalse(Arrays.equals(derived, KeyDerivation.derive(key, otherContext)));
    }
  }

  static void assertRefused(org.junit.jupiter.api.function.Executable decryption) {
    KeywardenException e = assertThrows(KeywardenException.class, decryption);
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertEquals("ciphertext failed authentication (altered, truncated, wrong key or wrong context)", e.getMessage());
  }
}
