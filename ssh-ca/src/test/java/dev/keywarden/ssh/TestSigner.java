package dev.keywarden.ssh;

import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.concurrent.atomic.AtomicInteger;

/** An in-memory {@link HsmSigner} for encoder tests that need no token; counts its sign calls. */
final class TestSigner implements HsmSigner {
  private final KeyPair pair;
  private final KeyPairAlgorithm algorithm;
  final AtomicInteger signs = new AtomicInteger();

  TestSigner(KeyPairAlgorithm algorithm) {
    this.algorithm = algorithm;
    try {
      KeyPairGenerator g;
      switch (algorithm.family()) {
        case EC -> {
          g = KeyPairGenerator.getInstance("EC");
          g.initialize(new ECGenParameterSpec(algorithm == KeyPairAlgorithm.EC_P256 ? "secp256r1" : "secp384r1"));
        }
        case EDDSA -> g = KeyPairGenerator.getInstance("Ed25519");
        default -> {
          g = KeyPairGenerator.getInstance("RSA");
          g.initialize(algorithm.bits());
        }
      }
      pair = g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public HsmKeyId id() {
    return new HsmKeyId("test-" + algorithm, "01");
  }

  @Override
  public KeyPairAlgorithm algorithm() {
    return algorithm;
  }

  @Override
  public PublicKey publicKey() {
    return pair.getPublic();
  }

  @Override
  public byte[] sign(SignatureAlgorithm signature, byte[] message) {
    SignatureAlgorithm.requireSignable(id(), algorithm, signature, message);
    signs.incrementAndGet();
    try {
      Signature s = signature.newJdkSignature();
      s.initSign(pair.getPrivate());
      s.update(message);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
