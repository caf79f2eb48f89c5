package dev.keywarden.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsFilesTest {
  @TempDir
  Path dir;

  @Test
  void readsUnencryptedPkcs8KeysOfEveryFamily() throws Exception {
    for (String algorithm : new String[] {"EC", "RSA", "Ed25519"}) {
      KeyPair pair = KeyPairGenerator.getInstance(algorithm).generateKeyPair();
      Path file = dir.resolve(algorithm + ".pem");
      Files.writeString(file, "-----BEGIN PRIVATE KEY-----\n"
          + Base64.getMimeEncoder().encodeToString(pair.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n");
      assertArrayEquals(pair.getPrivate().getEncoded(), TlsFiles.privateKey(file).getEncoded(), algorithm);
    }
  }

  @Test
  void refusesOtherKeyFormsSayingHowToConvert() throws Exception {
    Path file = dir.resolve("legacy.pem");
    Files.writeString(file, "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n");
    GeneralSecurityException e = assertThrows(GeneralSecurityException.class, () -> TlsFiles.privateKey(file));
    assertTrue(e.getMessage().contains("openssl pkcs8 -topk8 -nocrypt"), e.getMessage());
    Path empty = dir.resolve("empty.pem");
    Files.writeString(empty, "");
    assertThrows(GeneralSecurityException.class, () -> TlsFiles.certificates(empty));
  }
}
