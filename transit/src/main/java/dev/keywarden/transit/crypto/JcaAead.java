package dev.keywarden.transit.crypto;

import dev.keywarden.failure.KeywardenException;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.lang.invoke.VarHandle;
import java.security.GeneralSecurityException;
import java.security.spec.AlgorithmParameterSpec;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;

/**
 * An {@link Aead} on the JDK's own ciphers. The {@link Cipher} comes from a per-thread cache shared by all keys,
 * because {@code Cipher.getInstance} costs more than encrypting a kilobyte.
 *
 * <p>It is its own {@link SecretKey}, handed to {@code Cipher.init}: its key bytes are zeroized by {@link #destroy}
 * (a {@code SecretKeySpec} keeps a copy that cannot be), and a call reaches them in one hop fewer, which counts when
 * a hundred thousand keys are used at random and each object is one more cache miss.
 */
final class JcaAead implements Aead, SecretKey {
  private static final long serialVersionUID = 1L;

  static final int NONCE_LENGTH = 12;
  static final int TAG_LENGTH = 16;
  static final String AUTHENTICATION_FAILED =
      "ciphertext failed authentication (altered, truncated, wrong key or wrong context)";


  /** The JDK algorithms we wrap; each owns its per-thread Cipher cache. */
  enum Algorithm {
    AES_GCM("AES/GCM/NoPadding", "AES") {
      @Override
      AlgorithmParameterSpec params(byte[] buf, int offset) {
        return new GCMParameterSpec(TAG_LENGTH * 8, buf, offset, NONCE_LENGTH);
      }
    },
    CHACHA20_POLY1305("ChaCha20-Poly1305", "ChaCha20") {
      @Override
      AlgorithmParameterSpec params(byte[] buf, int offset) {
        return new IvParameterSpec(buf, offset, NONCE_LENGTH);
      }
    };

    private final String keyAlgorithm;
    private final ThreadLocal<Cipher> ciphers;

    Algorithm(String transformation, String keyAlgorithm) {
      this.keyAlgorithm = keyAlgorithm;
      this.ciphers = ThreadLocal.withInitial(() -> {
        try {
          return Cipher.getInstance(transformation);
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException(transformation + " is not available in this JDK", e);
        }
      });
    }

    abstract AlgorithmParameterSpec params(byte[] buf, int offset);

    Cipher cipher() {
      return ciphers.get();
    }
  }

  private final transient Algorithm algorithm;
  private final transient byte[] key;
  private transient volatile boolean destroyed;

  JcaAead(Algorithm algorithm, byte[] key) {
    this.algorithm = algorithm;
    this.key = key.clone();
  }

  @Override
  public String getAlgorithm() {
    return algorithm.keyAlgorithm;
  }

  @Override
  public String getFormat() {
    return "RAW";
  }

  /**
   * A copy of the key, for the Cipher (which copies it again into its key schedule). Once destroyed (the server
   * sealed while a call held the key), FAILED_PRECONDITION as for any call made while sealed.
   */
  @Override
  public byte[] getEncoded() {
    if (destroyed) {
      throw zeroized();
    }
    return key.clone();
  }

  private static KeywardenException zeroized() {
    return KeywardenException.precondition("sealed: the key was zeroized while the call ran; retry once the server"
        + " is unsealed").withReason("SEALED");
  }

  @Override
  public void destroy() {
    destroyed = true;
    VarHandle.releaseFence(); // the flag before any zero (see init)
    Arrays.fill(key, (byte) 0);
  }

  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  /** Never serialized: it would write the key. */
  private void writeObject(ObjectOutputStream out) throws NotSerializableException {
    throw new NotSerializableException(JcaAead.class.getName());
  }

  @Override
  public byte[] encrypt(byte[] plaintext, byte[] aad) {
    Objects.requireNonNull(plaintext, "plaintext");
    byte[] out = new byte[NONCE_LENGTH + plaintext.length + TAG_LENGTH];
    Nonces.next(out);
    return seal(out, plaintext, aad);
  }

  @Override
  public byte[] encryptWithNonce(byte[] nonce12, byte[] plaintext, byte[] aad) {
    Objects.requireNonNull(nonce12, "nonce");
    Objects.requireNonNull(plaintext, "plaintext");
    if (nonce12.length != NONCE_LENGTH) {
      throw KeywardenException.invalid("nonce must be " + NONCE_LENGTH + " bytes, got " + nonce12.length);
    }
    byte[] out = new byte[NONCE_LENGTH + plaintext.length + TAG_LENGTH];
    System.arraycopy(nonce12, 0, out, 0, NONCE_LENGTH);
    return seal(out, plaintext, aad);
  }

  /** Encrypts plaintext into out, whose first 12 bytes already hold the nonce. */
  private byte[] seal(byte[] out, byte[] plaintext, byte[] aad) {
    Cipher cipher = algorithm.cipher();
    try {
      init(cipher, Cipher.ENCRYPT_MODE, out);
      if (aad != null && aad.length > 0) {
        cipher.updateAAD(aad);
      }
      int written = cipher.doFinal(plaintext, 0, plaintext.length, out, NONCE_LENGTH);
      if (written != plaintext.length + TAG_LENGTH) {
        throw new IllegalStateException("unexpected AEAD output length");
      }
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(algorithm + " encryption failed", e);
    }
  }

  /**
   * The JDK refuses to initialise one Cipher twice in a row with the same key and nonce (GCM: for encryption;
   * ChaCha20-Poly1305: in either mode), a guard against accidental nonce reuse. Convergent encryption repeats them on
   * purpose, and decrypting one ciphertext twice repeats them too, so on refusal we step the Cipher through another
   * nonce first. The refusal is thrown before any state changes, and a real key problem fails the retry as well.
   */
  private void init(Cipher cipher, int mode, byte[] nonceBuffer) throws GeneralSecurityException {
    try {
      cipher.init(mode, this, algorithm.params(nonceBuffer, 0));
    } catch (GeneralSecurityException refused) {
      byte[] other = new byte[NONCE_LENGTH];
      System.arraycopy(nonceBuffer, 0, other, 0, NONCE_LENGTH);
      other[0] ^= 1;
      cipher.init(mode, this, algorithm.params(other, 0));
      cipher.init(mode, this, algorithm.params(nonceBuffer, 0));
    }
    // A seal racing this call may have zeroized the key while the Cipher copied it: the copy would then be partly
    // zero, and an encryption under it a ciphertext nothing can decrypt. destroy() sets the flag before it zeroes
    // (a release fence between), so a copy that saw any zero sees the flag here.
    VarHandle.acquireFence();
    if (destroyed) {
      throw zeroized();
    }
  }

  @Override
  public byte[] decrypt(byte[] nonceCiphertextTag, byte[] aad) {
    Objects.requireNonNull(nonceCiphertextTag, "ciphertext");
    if (nonceCiphertextTag.length < NONCE_LENGTH + TAG_LENGTH) {
      throw KeywardenException.invalid(AUTHENTICATION_FAILED);
    }
    Cipher cipher = algorithm.cipher();
    try {
      init(cipher, Cipher.DECRYPT_MODE, nonceCiphertextTag);
      if (aad != null && aad.length > 0) {
        cipher.updateAAD(aad);
      }
      return cipher.doFinal(nonceCiphertextTag, NONCE_LENGTH, nonceCiphertextTag.length - NONCE_LENGTH);
    } catch (GeneralSecurityException e) {
      // AEADBadTagException mostly; whatever the cause, the caller learns only that this input does not decrypt.
      throw KeywardenException.invalid(AUTHENTICATION_FAILED);
    }
  }

  @Override
  public String toString() {
    return "Aead[" + algorithm + "]";
  }
}
