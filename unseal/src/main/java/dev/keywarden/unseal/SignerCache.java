package dev.keywarden.unseal;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.security.PublicKey;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * The HSM signers of an engine's CA or signing keys, each found once per unseal (on SoftHSM2 every lookup of a token
 * object reads files) and forgotten when the core seals. A signer whose key left the token after it was cached fails
 * at signing: it is dropped, so the next call looks the key up again, and the failure is reworded by the engine's
 * {@code keyGone} (which names the issuer or CA, and what to do).
 */
public final class SignerCache {
  private final Core core;
  private final Map<String, HsmSigner> signers = new ConcurrentHashMap<>();

  /** A cache over {@code core}'s HSM, cleared when the core seals. */
  public SignerCache(Core core) {
    this.core = core;
    core.addSealListener(signers::clear);
  }

  /**
   * The signer of key {@code id}, cached under {@code cacheKey} (unique per key: e.g. the CA name and the HSM id).
   * Failures to find or use the key (FAILED_PRECONDITION, NOT_FOUND) pass through {@code keyGone}.
   */
  public HsmSigner signer(String cacheKey, HsmKeyId id, UnaryOperator<KeywardenException> keyGone) {
    HsmSigner cached;
    try {
      cached = signers.computeIfAbsent(cacheKey, k -> core.unsealed().hsm().signer(id));
    } catch (KeywardenException e) {
      throw gone(keyGone, e);
    }
    return new Guarded(cacheKey, cached, keyGone);
  }

  /** Forgets the cached signers whose cache keys match (a CA removed by tidy, a destroyed key version). */
  public void forget(Predicate<String> cacheKeys) {
    signers.keySet().removeIf(cacheKeys);
  }

  private static KeywardenException gone(UnaryOperator<KeywardenException> keyGone, KeywardenException e) {
    if (e.kind() == KeywardenException.Kind.FAILED_PRECONDITION || e.kind() == KeywardenException.Kind.NOT_FOUND) {
      return keyGone.apply(e);
    }
    return e;
  }

  private final class Guarded implements HsmSigner {
    private final String cacheKey;
    private final HsmSigner cached;
    private final UnaryOperator<KeywardenException> keyGone;

    Guarded(String cacheKey, HsmSigner cached, UnaryOperator<KeywardenException> keyGone) {
      this.cacheKey = cacheKey;
      this.cached = cached;
      this.keyGone = keyGone;
    }

    @Override
    public HsmKeyId id() {
      return cached.id();
    }

    @Override
    public KeyPairAlgorithm algorithm() {
      return cached.algorithm();
    }

    @Override
    public PublicKey publicKey() {
      return cached.publicKey();
    }

    @Override
    public byte[] sign(SignatureAlgorithm algorithm, byte[] message) {
      try {
        return cached.sign(algorithm, message);
      } catch (KeywardenException e) {
        signers.remove(cacheKey, cached);
        throw gone(keyGone, e);
      }
    }
  }
}
