package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.hsm.KeyType;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two peers with certificates from the CA (root key in SoftHSM2) complete a TLS handshake with client
 * authentication, through OpenSSL's own s_server and s_client; a revoked client and a wrong server name are refused.
 */
class MutualTlsTest {
  @TempDir
  Path dir;

  Storage storage;
  Core core;
  PkiEngine pki;

  @BeforeEach
  void start() {
    SoftHsmToken token = SoftHsmToken.create();
    storage = SqliteStorage.open(dir.resolve("data"));
    core = new Core(storage, token.provider(4), new SecureRandom(), 100);
    InitResult init = core.initialize(1, 1, token.pin(), false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    pki = new PkiEngine(core, Clock.systemUTC(), new SecureRandom());
  }

  @AfterEach
  void stop() {
    core.shutdown();
    storage.close();
  }

  @Test
  void peersFromTheCaShakeHandsAndARevokedClientOrAWrongNameIsRefused() throws Exception {
    IssuerInfo root = pki.generateRoot("Keywarden mTLS Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    pki.writeRole(Role.fromJson("{\"name\":\"mesh\",\"allowed_domains\":[\"svc.example.com\"],"
        + "\"allow_subdomains\":true,\"server_flag\":true,\"client_flag\":true,\"ttl\":\"1h\",\"max_ttl\":\"1h\"}"));
    Path ca = write("root.pem", pem("CERTIFICATE", root.certificateDer()));
    Path[] server = issue("api.svc.example.com", "server");
    Path[] client = issue("worker.svc.example.com", "client");
    Path[] revoked = issue("old.svc.example.com", "revoked");
    pki.revoke(pki.listCertificates().stream()
        .filter(s -> s.equals(serialOf(revoked[0]))).findFirst().orElseThrow(), 1);
    Path caAndCrl = write("ca-crl.pem", Files.readString(ca) + pem("X509 CRL", pki.crl(root.id())));

    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Process tlsServer = new ProcessBuilder("openssl", "s_server", "-accept", "127.0.0.1:" + port, "-cert",
        server[0].toString(), "-key", server[1].toString(), "-CAfile", caAndCrl.toString(), "-Verify", "1",
        "-verify_return_error", "-crl_check", "-www").redirectErrorStream(true).start();
    try {
      awaitListening(port);
      String ok = client("api.svc.example.com", port, ca, client);
      assertTrue(ok.contains("Verification: OK") && ok.contains("HTTP/1.0 200"), ok);

      String wrongName = client("other.svc.example.com", port, ca, client);
      assertTrue(wrongName.contains("hostname mismatch") || wrongName.contains("Verification error"), wrongName);

      String refused = client("api.svc.example.com", port, ca, revoked);
      assertFalse(refused.contains("HTTP/1.0 200"), "the server must refuse a revoked client:\n" + refused);
      assertTrue(refused.contains("certificate revoked"), "refused by the server for the revocation:\n" + refused);
      String again = client("api.svc.example.com", port, ca, client);
      assertTrue(again.contains("HTTP/1.0 200"), "the server still serves good clients:\n" + again);
    } finally {
      tlsServer.destroy();
      tlsServer.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private Path[] issue(String name, String file) throws IOException {
    IssuedWithKey issued = pki.issue("mesh", new RequestedNames(Optional.of(name), List.of(name), List.of(),
        List.of()), Optional.empty(), Optional.empty());
    return new Path[] {write(file + ".pem", pem("CERTIFICATE", issued.certificate().certificateDer())),
        write(file + ".key", issued.privateKeyPem())};
  }

  private String serialOf(Path certPem) {
    try {
      String out = run(List.of("openssl", "x509", "-in", certPem.toString(), "-noout", "-serial"), null);
      return out.trim().substring("serial=".length()).toLowerCase();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private String client(String expectedName, int port, Path ca, Path[] identity) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
        "-CAfile", ca.toString(), "-verify_return_error", "-verify_hostname", expectedName,
        "-cert", identity[0].toString(), "-key", identity[1].toString(), "-ign_eof"));
    return run(cmd, "GET / HTTP/1.0\r\n\r\n");
  }

  private static String run(List<String> cmd, String stdin) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes(StandardCharsets.US_ASCII));
    }
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "openssl did not finish");
    return out;
  }

  private static void awaitListening(int port) throws InterruptedException {
    for (int i = 0; i < 100; i++) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    fail("openssl s_server did not start");
  }

  private Path write(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
