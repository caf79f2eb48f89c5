package dev.keywarden.jwt;

import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import dev.keywarden.unseal.Core;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * The software keys of versions that asked for them: stored as PKCS#8 wrapped by the KEK, unwrapped on first use and
 * kept parsed until the core seals (or the version is destroyed). The PKCS#8 bytes are zeroized once parsed; JCA
 * private keys cannot be zeroized reliably, so only the references are dropped, as the dev-only software HSM does.
 *
 * <p>Keys are parsed and signatures made by Bouncy Castle (passed explicitly, never registered), as transit's signing
 * keys are: JDK 17's own ECDSA and Ed25519 sign 6 to 19 times slower here.
 */
final class SoftwareKeys {
  /** Built once: constructing the provider takes tens of milliseconds. */
  private static final Provider BC = new BouncyCastleProvider();
  private static final SecureRandom RANDOM = new SecureRandom();
  private final Core core;
  private final Map<String, PrivateKey> keys = new ConcurrentHashMap<>();

  SoftwareKeys(Core core) {
    this.core = core;
    core.addSealListener(keys::clear);
  }

  /** Signs {@code message} with the key wrapped in {@code wrapped}, cached under {@code cacheKey}. */
  byte[] sign(String cacheKey, KeyPairAlgorithm type, byte[] wrapped, SignatureAlgorithm algorithm, byte[] message) {
    PrivateKey key = keys.computeIfAbsent(cacheKey, k -> unwrap(type, wrapped));
    try {
      Signature s = Signature.getInstance(algorithm.jcaName(), BC);
      s.initSign(key, RANDOM);
      s.update(message);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(algorithm.jcaName() + " signing failed: " + e.getClass().getSimpleName(), e);
    }
  }

  /** Forgets the parsed keys whose cache keys match (destroyed versions, a deleted key). */
  void forget(Predicate<String> cacheKeys) {
    keys.keySet().removeIf(cacheKeys);
  }

  /** Wraps a new key's PKCS#8 encoding with the KEK; the caller zeroizes {@code pkcs8}. */
  byte[] wrap(byte[] pkcs8) {
    return core.unsealed().kek().wrap(pkcs8);
  }

  private PrivateKey unwrap(KeyPairAlgorithm type, byte[] wrapped) {
    byte[] pkcs8 = core.unsealed().kek().unwrap(wrapped);
    try {
      String family = switch (type.family()) {
        case EC -> "EC";
        case EDDSA -> "Ed25519";
        case RSA -> "RSA";
      };
      return KeyFactory.getInstance(family, BC).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("a stored software JWT key does not parse as " + type, e);
    } finally {
      Arrays.fill(pkcs8, (byte) 0);
    }
  }
}
