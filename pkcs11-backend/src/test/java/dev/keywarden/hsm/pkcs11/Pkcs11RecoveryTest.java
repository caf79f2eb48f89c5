package dev.keywarden.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_SECRET_KEY;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.HsmAead;
import dev.keywarden.hsm.HsmHealth;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KekIdentity;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import dev.keywarden.hsm.testing.SoftHsmToken;
import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.xipki.pkcs11.wrapper.AttributeVector;

/**
 * The token goes away and comes back under an open {@link Pkcs11Hsm}: SoftHSM2's token directory is renamed away and
 * back, as a network HSM restarting would look. Calls in between fail as UNAVAILABLE, never as a lost key, and the HSM
 * recovers by itself without being closed and opened again.
 */
class Pkcs11RecoveryTest {

  private static final byte[] AAD = "transit/keys/k|v1".getBytes(StandardCharsets.UTF_8);

  @Test
  void aTokenThatGoesAwayAndComesBackServesAgainWithoutReopening() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(4).open(softHsm.pin())) {
      HsmAead aead = hsm.aesKey(hsm.generateAesKey("aes"));
      KeyEncryptionKey kek = hsm.kek(hsm.generateKek("kek"));
      HsmKeyId pairId = hsm.generateKeyPair("pair", KeyPairAlgorithm.EC_P256);
      HsmSigner signer = hsm.signer(pairId);
      byte[] plaintext = "before the outage".getBytes(StandardCharsets.UTF_8);
      byte[] blob = aead.encrypt(plaintext, AAD);
      byte[] material = new byte[32];
      material[0] = 7;
      byte[] wrapped = kek.wrap(material);

      SoftHsmToken.Away away = softHsm.takeAway();
      try {
        assertUnreachable(() -> aead.encrypt(plaintext, AAD), softHsm);
        assertUnreachable(() -> aead.decrypt(blob, AAD), softHsm);
        assertUnreachable(() -> kek.unwrap(wrapped), softHsm);
        assertUnreachable(() -> signer.sign(SignatureAlgorithm.ECDSA_SHA256, plaintext), softHsm);
        assertUnreachable(() -> hsm.aesKey(aead.id()), softHsm);
        assertUnreachable(() -> hsm.generateAesKey("during"), softHsm);
        HsmHealth health = hsm.health();
        assertFalse(health.reachable());
        assertTrue(health.reason().endsWith("; retrying"), health.reason());
        assertTrue(health.since() != null);
      } finally {
        SoftHsmToken.bringBack(away);
      }

      long back = System.nanoTime();
      byte[] again = awaitRecovery(() -> aead.decrypt(blob, AAD));
      long recoveredMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - back);
      assertArrayEquals(plaintext, again);
      assertTrue(recoveredMs < 5000, "recovered after " + recoveredMs + " ms");
      assertTrue(hsm.health().reachable());
      assertNull(hsm.health().reason());
      // The handles cached before the outage were found again, for every kind of key.
      assertArrayEquals(plaintext, aead.decrypt(aead.encrypt(plaintext, AAD), AAD));
      assertArrayEquals(material, kek.unwrap(wrapped));
      Signature verify = Signature.getInstance("SHA256withECDSA");
      verify.initVerify(signer.publicKey());
      verify.update(plaintext);
      assertTrue(verify.verify(signer.sign(SignatureAlgorithm.ECDSA_SHA256, plaintext)));
      // The generation refused during the outage made nothing; made now, it exists once.
      HsmKeyId during = hsm.generateAesKey("during");
      try (Pkcs11Hsm.Use use = hsm.use()) {
        assertEquals(1, hsm.token().findObjects(new AttributeVector().class_(CKO_SECRET_KEY).label("during"), 2)
            .length);
      }
      hsm.aesKey(during).encrypt(plaintext, null);
      assertTrue(hsm.reconnects() >= 1, "reconnects " + hsm.reconnects());
    }
  }

  @Test
  void aDeadTokenIsAskedAtMostOncePerBackoffHoweverManyCallsFail() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(4).open(softHsm.pin())) {
      HsmAead aead = hsm.aesKey(hsm.generateAesKey("aes"));
      SoftHsmToken.Away away = softHsm.takeAway();
      long started = System.nanoTime();
      int calls = 0;
      try {
        while (System.nanoTime() - started < TimeUnit.MILLISECONDS.toNanos(2000)) {
          KeywardenException e = assertThrows(KeywardenException.class, () -> aead.encrypt(new byte[] {1}, null));
          assertEquals(Kind.UNAVAILABLE, e.kind());
          calls++;
        }
      } finally {
        SoftHsmToken.bringBack(away);
      }
      // Backoff 250, 500, 1000, 2000 ms: within 2 s the first attempt and at most three more.
      long attempts = hsm.reconnectAttempts();
      assertTrue(calls > 100, "calls " + calls);
      assertTrue(attempts >= 2 && attempts <= 5, attempts + " reconnect attempts for " + calls + " failed calls");
      awaitRecovery(() -> aead.encrypt(new byte[] {1}, null));
    }
  }

  @Test
  void healthComesBackWithoutAnyCallOnceTheTokenIsBack() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin())) {
      HsmAead aead = hsm.aesKey(hsm.generateAesKey("aes"));
      SoftHsmToken.Away away = softHsm.takeAway();
      try {
        assertThrows(KeywardenException.class, () -> aead.encrypt(new byte[] {1}, null));
        assertFalse(hsm.health().reachable());
      } finally {
        SoftHsmToken.bringBack(away);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (!hsm.health().reachable() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(hsm.health().reachable(), "the watcher reconnects on its own: " + hsm.health());
    }
  }

  @Test
  void sessionsClosedUnderneathAreOpenedAgain() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(4).open(softHsm.pin())) {
      HsmAead aead = hsm.aesKey(hsm.generateAesKey("aes"));
      byte[] blob = aead.encrypt(new byte[] {1, 2, 3}, null);
      try (Pkcs11Hsm.Use use = hsm.use()) {
        // C_CloseAllSessions behind the pool's back: every pooled handle is invalid and the login is gone.
        hsm.token().getModule().getPKCS11Module().C_CloseAllSessions(hsm.token().getTokenId());
      } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
        throw new AssertionError(e);
      }
      for (int i = 0; i < 10; i++) {
        assertArrayEquals(new byte[] {1, 2, 3}, aead.decrypt(blob, null));
      }
      assertTrue(hsm.health().reachable());
    }
  }

  @Test
  void aKeyDestroyedWhileTheTokenAnswersIsStillReportedAsGone() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin())) {
      HsmAead aead = hsm.aesKey(hsm.generateAesKey("aes"));
      hsm.destroyKey(aead.id());
      KeywardenException e = assertThrows(KeywardenException.class, () -> aead.encrypt(new byte[] {1}, null));
      assertEquals(Kind.FAILED_PRECONDITION, e.kind());
      assertTrue(e.getMessage().contains("no longer holds key 'aes'"), e.getMessage());
      assertEquals(0, hsm.reconnects());
    }
  }

  private static void assertUnreachable(Executable call, SoftHsmToken softHsm) {
    KeywardenException e = assertThrows(KeywardenException.class, call);
    assertEquals(Kind.UNAVAILABLE, e.kind(), e.getMessage());
    assertTrue(e.getMessage().startsWith("the HSM is unreachable: "), e.getMessage());
    assertTrue(e.getMessage().endsWith("; retrying"), e.getMessage());
    assertFalse(e.getMessage().contains("no longer holds"), e.getMessage());
    assertFalse(e.getMessage().contains(new String(softHsm.pin())), "the PIN in a message");
  }

  /** Polls {@code call} every 50 ms for up to 5 s, as a client retrying UNAVAILABLE would. */
  private static <T> T awaitRecovery(java.util.concurrent.Callable<T> call) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (true) {
      try {
        return call.call();
      } catch (KeywardenException e) {
        if (e.kind() != Kind.UNAVAILABLE || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }
}
