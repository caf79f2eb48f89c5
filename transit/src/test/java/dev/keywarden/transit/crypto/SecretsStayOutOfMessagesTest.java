package dev.keywarden.transit.crypto;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.transit.KeyType;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Spot checks that no exception message or toString carries key bytes or plaintext, in any common rendering. */
class SecretsStayOutOfMessagesTest {

  private static final byte[] KEY = "0123456789abcdef0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PLAINTEXT = "TOP-SECRET-PLAINTEXT".getBytes(StandardCharsets.US_ASCII);

  private static List<String> renderings(byte[] secret) {
    List<String> out = new ArrayList<>();
    out.add(new String(secret, StandardCharsets.ISO_8859_1));
    out.add(HexFormat.of().formatHex(secret).substring(0, 16));
    out.add(HexFormat.of().withUpperCase().formatHex(secret).substring(0, 16));
    out.add(Base64.getEncoder().encodeToString(secret).substring(0, 12));
    out.add(java.util.Arrays.toString(secret).substring(0, 20));
    return out;
  }

  private static void assertClean(String text, byte[]... secrets) {
    for (byte[] secret : secrets) {
      for (String rendering : renderings(secret)) {
        assertFalse(text != null && text.contains(rendering), "secret leaked into: " + text);
      }
    }
  }

  private static void assertCleanFailure(Executable call, byte[]... secrets) {
    Throwable e = assertThrows(Throwable.class, call);
    for (Throwable t = e; t != null; t = t.getCause()) {
      assertClean(t.getMessage(), secrets);
      assertClean(t.toString(), secrets);
    }
  }

  @Test
  void aeadFailuresAndToStringCarryNoKeyOrPlaintext() {
    for (Aead aead : List.of(Aeads.aesGcm(KEY), Aeads.chacha20Poly1305(KEY))) {
      byte[] sealed = aead.encrypt(PLAINTEXT, null);
      sealed[sealed.length - 1] ^= 1;
      assertCleanFailure(() -> aead.decrypt(sealed, null), KEY, PLAINTEXT);
      assertCleanFailure(() -> aead.decrypt(PLAINTEXT, KEY), KEY, PLAINTEXT);
      assertCleanFailure(() -> aead.encryptWithNonce(PLAINTEXT, PLAINTEXT, null), KEY, PLAINTEXT);
      assertClean(aead.toString(), KEY, PLAINTEXT);
    }
    assertCleanFailure(() -> Aeads.aesGcm(PLAINTEXT), PLAINTEXT);
    assertCleanFailure(() -> Aeads.chacha20Poly1305(PLAINTEXT), PLAINTEXT);
  }

  @Test
  void signingKeyFailuresAndToStringCarryNoKeyMaterial() {
    byte[] pkcs8 = KeyGeneration.generate(KeyType.ECDSA_P256, new SecureRandom());
    byte[] body = java.util.Arrays.copyOfRange(pkcs8, pkcs8.length - 40, pkcs8.length);
    byte[] broken = pkcs8.clone();
    broken[broken.length - 50] ^= 0x55;
    assertCleanFailure(() -> Signatures.signingKey(KeyType.ECDSA_P384, pkcs8), body);
    assertCleanFailure(() -> Signatures.signingKey(KeyType.RSA_2048, pkcs8), body);
    assertCleanFailure(() -> Signatures.signingKey(KeyType.ECDSA_P256, java.util.Arrays.copyOf(pkcs8, 60)), body);
    SigningKey key = Signatures.signingKey(KeyType.ECDSA_P256, pkcs8);
    assertClean(key.toString(), body);
    SignatureOptions prehashed = new SignatureOptions(HashAlgorithm.SHA2_256, true, RsaPadding.PSS,
        SignatureEncoding.DER);
    assertCleanFailure(() -> key.sign(PLAINTEXT, prehashed), PLAINTEXT);
  }

  @Test
  void hmacFailuresCarryNoKey() {
    assertCleanFailure(() -> Macs.hmac(new byte[0], HashAlgorithm.SHA2_256, PLAINTEXT), PLAINTEXT);
  }
}
