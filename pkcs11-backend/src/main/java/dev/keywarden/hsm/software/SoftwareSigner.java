package dev.keywarden.hsm.software;

import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.Signature;

/**
 * A key pair derived in memory, signing with the JDK. Dev-only. JCA private keys cannot be reliably zeroized, so the
 * HSM only drops its reference when the key is destroyed or the HSM closes, and every use checks it is still held.
 */
final class SoftwareSigner implements HsmSigner {

  private final SoftwareHsm hsm;
  private final HsmKeyId id;
  private final KeyPairAlgorithm algorithm;
  private final KeyPair keyPair;

  SoftwareSigner(SoftwareHsm hsm, HsmKeyId id, KeyPairAlgorithm algorithm, KeyPair keyPair) {
    this.hsm = hsm;
    this.id = id;
    this.algorithm = algorithm;
    this.keyPair = keyPair;
  }

  @Override
  public HsmKeyId id() {
    return id;
  }

  @Override
  public KeyPairAlgorithm algorithm() {
    return algorithm;
  }

  @Override
  public PublicKey publicKey() {
    return keyPair.getPublic();
  }

  @Override
  public byte[] sign(SignatureAlgorithm signature, byte[] message) {
    SignatureAlgorithm.requireSignable(id, algorithm, signature, message);
    try (SoftwareHsm.Use use = hsm.use()) {
      hsm.requireHeld(id);
      Signature signer = signature.newJdkSignature();
      signer.initSign(keyPair.getPrivate());
      signer.update(message);
      return signer.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(signature.jcaName() + " signing failed: " + e.getClass().getSimpleName(), e);
    }
  }

  @Override
  public String toString() {
    return "SoftwareSigner[" + id.label() + ", id " + id.idHex() + ", " + algorithm + "]";
  }
}
