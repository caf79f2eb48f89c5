package dev.keywarden.hsm.software;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.AesGcmLayout;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmAead;
import dev.keywarden.hsm.HsmKeyId;
import java.nio.charset.StandardCharsets;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class SoftwareAeadTest {

  @Test
  void theKeyIsHmacOfTheSecretAndTheOutputIsStandardAesGcm() throws Exception {
    SoftwareHsmProvider provider = new SoftwareHsmProvider();
    char[] pin = provider.newPin();
    byte[] plaintext = "attack at dawn".getBytes(StandardCharsets.UTF_8);
    byte[] aad = {7, 7};
    try (Hsm hsm = provider.open(pin.clone())) {
      HsmKeyId id = hsm.generateAesKey("derived");
      HsmAead aead = hsm.aesKey(id);
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(new String(pin).getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      SecretKeySpec key = new SecretKeySpec(mac.doFinal(("keywarden-software-aes|" + id.label() + "|" + id.idHex())
          .getBytes(StandardCharsets.UTF_8)), "AES");

      byte[] blob = aead.encrypt(plaintext, aad);
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, blob, 0, AesGcmLayout.NONCE_BYTES));
      gcm.updateAAD(aad);
      assertArrayEquals(plaintext, gcm.doFinal(blob, AesGcmLayout.NONCE_BYTES, blob.length - AesGcmLayout.NONCE_BYTES));

      byte[] nonce = new byte[AesGcmLayout.NONCE_BYTES];
      nonce[0] = 1;
      gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
      gcm.updateAAD(aad);
      byte[] sealed = gcm.doFinal(plaintext);
      byte[] fromJdk = new byte[nonce.length + sealed.length];
      System.arraycopy(nonce, 0, fromJdk, 0, nonce.length);
      System.arraycopy(sealed, 0, fromJdk, nonce.length, sealed.length);
      assertArrayEquals(plaintext, aead.decrypt(fromJdk, aad));
    }
  }

  @Test
  void theSameSecretDerivesTheSameKeyInANewProvider() {
    char[] pin = new SoftwareHsmProvider().newPin();
    byte[] plaintext = {1, 2, 3, 4, 5};
    byte[] blob;
    HsmKeyId id;
    try (Hsm hsm = new SoftwareHsmProvider().open(pin.clone())) {
      id = hsm.generateAesKey("restart");
      blob = hsm.aesKey(id).encrypt(plaintext, null);
    }
    try (Hsm hsm = new SoftwareHsmProvider().open(pin.clone())) {
      assertArrayEquals(plaintext, hsm.aesKey(id).decrypt(blob, null));
    }
  }

  @Test
  void destroyingAKeyTheProviderNeverMadeFreesNoLabel() {
    SoftwareHsmProvider provider = new SoftwareHsmProvider();
    try (Hsm hsm = provider.open(provider.newPin())) {
      HsmKeyId made = hsm.generateAesKey("kept");
      hsm.destroyKey(new HsmKeyId("kept", "00"));
      assertEquals(Kind.ALREADY_EXISTS, assertThrows(KeywardenException.class, () -> hsm.generateAesKey("kept")).kind());
      var kek = hsm.generateKek("a-kek");
      hsm.destroyKey(new HsmKeyId(kek.label(), kek.idHex()));
      assertEquals(Kind.ALREADY_EXISTS, assertThrows(KeywardenException.class, () -> hsm.generateAesKey("a-kek")).kind());
      assertArrayEquals(new byte[0], hsm.aesKey(made).decrypt(hsm.aesKey(made).encrypt(new byte[0], null), null));
    }
  }
}
