package dev.keywarden.server.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.encoding.Pem;
import dev.keywarden.server.gate.OpenSsl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI reads the PEM files it is given for TLS as before, with the JDK for the usual forms. */
class ClientTlsTest {
  @TempDir
  Path dir;

  @Test
  void pkcs8KeysOfEachKindAreRead() throws Exception {
    for (String algorithm : new String[] {"EC", "RSA", "Ed25519"}) {
      KeyPair pair = KeyPairGenerator.getInstance(algorithm).generateKeyPair();
      Path file = Files.writeString(dir.resolve(algorithm + ".pem"),
          Pem.block("PRIVATE KEY", pair.getPrivate().getEncoded()));
      PrivateKey read = ClientTls.privateKey(file);
      assertArrayEquals(pair.getPrivate().getEncoded(), read.getEncoded(), algorithm);
    }
  }

  @Test
  void openSslsOlderKeyFormsAreReadToo() throws Exception {
    // as in a JVM where something registered Bouncy Castle: the key is still the JDK's "EC" key
    if (java.security.Security.getProvider("BC") == null) {
      java.security.Security.addProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider());
    }
    Path sec1 = dir.resolve("ec.pem");
    OpenSsl.run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", sec1.toString());
    assertTrue(Files.readString(sec1).contains("BEGIN EC PRIVATE KEY"));
    assertEquals("EC", ClientTls.privateKey(sec1).getAlgorithm());
    Path pkcs1 = dir.resolve("rsa.pem");
    OpenSsl.run("genrsa", "-traditional", "-out", pkcs1.toString(), "2048");
    assertTrue(Files.readString(pkcs1).contains("BEGIN RSA PRIVATE KEY"));
    assertEquals("RSA", ClientTls.privateKey(pkcs1).getAlgorithm());
  }

  @Test
  void aFileWithoutAKeyOrWithoutACertificateIsRefusedNamingIt() throws Exception {
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    OpenSsl.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        key.toString(), "-out", cert.toString(), "-days", "1", "-subj", "/CN=localhost");
    assertNotNull(ClientTls.socketFactory(cert, cert, key));
    GeneralSecurityException noKey = assertThrows(GeneralSecurityException.class, () -> ClientTls.privateKey(cert));
    assertTrue(noKey.getMessage().contains(cert.toString()), noKey.getMessage());
    Exception noCert = assertThrows(Exception.class, () -> ClientTls.certificates(key));
    assertTrue(noCert instanceof GeneralSecurityException, noCert.toString());
  }
}
