package dev.keywarden.hsm.software;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.HsmSignerContract;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.security.PublicKey;
import org.junit.jupiter.api.Test;

class SoftwareHsmSignerTest extends HsmSignerContract {

  private final SoftwareHsmProvider provider = new SoftwareHsmProvider();
  private final char[] secret = provider.newPin();

  @Override
  protected HsmProvider newProvider() {
    return provider;
  }

  @Override
  protected char[] pin() {
    return secret.clone();
  }

  @Test
  void aRestartedServerWithTheSameSecretDerivesTheSameKeyPairs() throws Exception {
    for (KeyPairAlgorithm algorithm : new KeyPairAlgorithm[] {KeyPairAlgorithm.EC_P256, KeyPairAlgorithm.EC_P384,
        KeyPairAlgorithm.ED25519, KeyPairAlgorithm.RSA_2048}) {
      HsmKeyId id = hsm().generateKeyPair("restart-" + algorithm, algorithm);
      PublicKey before = hsm().signer(id).publicKey();
      // A new provider is a new process: it knows nothing but the secret and the id.
      try (Hsm restarted = new SoftwareHsmProvider().open(secret.clone())) {
        assertEquals(before, restarted.signer(id).publicKey(), algorithm.toString());
        SignatureAlgorithm signature = algorithm.family() == KeyPairAlgorithm.Family.RSA
            ? SignatureAlgorithm.RSA_PSS_SHA256 : algorithm.family() == KeyPairAlgorithm.Family.EC
            ? SignatureAlgorithm.ECDSA_SHA512 : SignatureAlgorithm.ED25519;
        byte[] message = {1, 2, 3};
        org.junit.jupiter.api.Assertions.assertTrue(
            verifiesWithJdk(signature, before, message, restarted.signer(id).sign(signature, message)));
      }
      try (Hsm otherSecret = new SoftwareHsmProvider().open(provider.newPin())) {
        assertEquals(Kind.FAILED_PRECONDITION,
            assertThrows(KeywardenException.class, () -> otherSecret.signer(id)).kind(),
            "an id is bound to the secret that issued it");
      }
    }
  }

  @Test
  void anIdWithAnotherLabelIsNoKeyPair() {
    HsmKeyId id = hsm().generateKeyPair("named", KeyPairAlgorithm.EC_P256);
    HsmKeyId relabelled = new HsmKeyId("renamed", id.idHex());
    assertNotEquals(id, relabelled);
    assertEquals(Kind.FAILED_PRECONDITION,
        assertThrows(KeywardenException.class, () -> hsm().signer(relabelled)).kind());
  }
}
