package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SSH CA end to end: the real CLI against a server on SoftHSM2, and OpenSSH itself as the judge. An sshd started
 * on a loopback port trusts Keywarden's CA through TrustedUserCAKeys fetched from the HTTP endpoint, refuses revoked
 * certificates through the KRL endpoint, and presents a host certificate Keywarden signed; the OpenSSH client logs in
 * with user certificates and checks the host certificate through an {@code @cert-authority} known_hosts line.
 */
class SshIT {
  private static final String SSHD = "/usr/sbin/sshd";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  Path work;

  private Process sshd;
  private final StringBuffer sshdLog = new StringBuffer();

  @AfterEach
  void stopSshd() throws Exception {
    if (sshd != null) {
      sshd.destroy();
      sshd.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void opensshTrustsKeywardensCertificatesAndRefusesEverythingElse() throws Exception {
    assertTrue(Files.isExecutable(Path.of(SSHD)), "OpenSSH's sshd is needed (make test installs openssh-server)");
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    try (Server server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()), "--data-dir",
        work.resolve("data").toString(), "--pkcs11-library", token.library().toString(), "--pkcs11-token",
        token.label())) {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString(), "--format", "json").ok().json();
      cli(anon, null, "operator", "unseal", init.get("shares").get(0).asText()).ok();
      Map<String, String> env = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN",
          init.get("root_token").asText());

      // CAs: users (ed25519, the default), hosts (ec-p256), an RSA one, and one sshd does not trust.
      JsonNode users = cli(env, null, "ssh", "create-ca", "users", "--default-for", "user", "--format", "json").ok()
          .json().get("ca");
      assertEquals("ed25519", users.get("keys").get(0).get("key_type").asText(), users.toString());
      cli(env, null, "ssh", "create-ca", "hosts", "--key-type", "ecdsa-p256", "--default-for", "host").ok();
      cli(env, null, "ssh", "create-ca", "rsa-users", "--key-type", "rsa-3072").ok();
      cli(env, null, "ssh", "create-ca", "elsewhere").ok();
      cli(env, null, "ssh", "create-ca", "weak", "--key-type", "rsa-2048").failed("INVALID_ARGUMENT", "rsa-2048");

      cli(env, null, "ssh", "create-role", "dev", "--type", "user", "--allowed-principals", "alice,bob",
          "--default-principals", "alice", "--ttl", "1h", "--max-ttl", "8h", "--allowed-extensions",
          "permit-pty,permit-port-forwarding", "--default-extensions", "permit-pty", "--not-before", "0s").ok();
      cli(env, null, "ssh", "create-role", "dev-rsa", "--type", "user", "--ca", "rsa-users", "--allowed-principals",
          "alice", "--default-principals", "alice").ok();
      cli(env, null, "ssh", "create-role", "outsider", "--type", "user", "--ca", "elsewhere",
          "--allowed-principals", "alice", "--default-principals", "alice").ok();
      cli(env, null, "ssh", "create-role", "web-hosts", "--type", "host", "--allowed-domains", "example.com",
          "--allow-subdomains", "--ttl", "24h").ok();

      // The host: its key made by ssh-keygen, its certificate signed by Keywarden's host CA.
      Path hostKey = sshKeygenKey("host_key", "ed25519");
      cli(env, null, "ssh", "sign", "--role", "web-hosts", "--public-key", hostKey + ".pub", "--principal",
          "host.example.com").ok();
      Path hostCert = Path.of(hostKey + "-cert.pub");
      String hostListing = keygen("-L", "-f", hostCert.toString());
      assertTrue(hostListing.contains("host certificate") && hostListing.contains("host.example.com"), hostListing);
      cli(env, null, "ssh", "sign", "--role", "web-hosts", "--public-key", hostKey + ".pub", "--principal",
          "host.evil.com", "-o", work.resolve("evil-cert.pub").toString()).failed("INVALID_ARGUMENT", "allowed_domains");

      Path trusted = work.resolve("trusted_user_ca_keys");
      Path krl = work.resolve("revoked_keys");
      Files.writeString(trusted, http(server, "/v1/ssh/ca/users") + http(server, "/v1/ssh/ca/rsa-users"));
      Files.write(krl, httpBytes(server, "/v1/ssh/krl/users"));
      Path principals = work.resolve("principals");
      Files.writeString(principals, "alice\n");
      // An RSA CA of our own that signs with SHA-1 (ssh-rsa), trusted too: sshd must still refuse its certificates.
      Path sha1Ca = sshKeygenKey("sha1_ca", "rsa");
      Files.writeString(trusted, Files.readString(trusted) + Files.readString(Path.of(sha1Ca + ".pub")));
      int port = KeywardenProcesses.freePort();
      startSshd(port, hostKey, hostCert, trusted, principals, krl);

      Path knownHosts = work.resolve("known_hosts");
      Files.writeString(knownHosts, http(server, "/v1/ssh/known_hosts/hosts?host=*.example.com"));
      assertTrue(Files.readString(knownHosts).startsWith("@cert-authority *.example.com ecdsa-sha2-nistp256 "),
          Files.readString(knownHosts));

      // A user key, signed with the CLI: the certificate is written beside it; ssh-keygen -L reads it.
      Path alice = sshKeygenKey("id_alice", "ed25519");
      JsonNode signed = cli(env, null, "ssh", "sign", "--role", "dev", "--public-key", alice + ".pub", "--format",
          "json").ok().json().get("certificate");
      Path aliceCert = Path.of(alice + "-cert.pub");
      String listing = keygen("-L", "-f", aliceCert.toString());
      assertTrue(listing.contains("user certificate"), listing);
      assertTrue(listing.contains("Serial: " + signed.get("serial").asText()), listing);
      assertTrue(listing.contains("alice") && listing.contains("permit-pty"), listing);
      assertFalse(listing.contains("permit-port-forwarding"), "only the role's default extensions: " + listing);
      assertTrue(login(port, alice, aliceCert, "host.example.com", knownHosts), sshdLog.toString());

      // The host certificate is for host.example.com: a client that expects another name refuses it.
      assertFalse(login(port, alice, aliceCert, "db.example.com", knownHosts), "host certificate for another name");

      // Wrong principal: bob is allowed by the role but not by the server's principals file.
      Path bob = sshKeygenKey("id_bob", "ed25519");
      cli(env, null, "ssh", "sign", "--role", "dev", "--public-key", bob + ".pub", "--principal", "bob").ok();
      assertFalse(login(port, bob, Path.of(bob + "-cert.pub"), "host.example.com", knownHosts), "wrong principal");
      cli(env, null, "ssh", "sign", "--role", "dev", "--public-key", bob + ".pub", "--principal", "root")
          .failed("INVALID_ARGUMENT", "allowed_principals");

      // Another CA's certificate is refused; the RSA CA's (rsa-sha2-512) is accepted; a SHA-1 RSA one is refused.
      Path carol = sshKeygenKey("id_carol", "ecdsa");
      cli(env, null, "ssh", "sign", "--role", "outsider", "--public-key", carol + ".pub").ok();
      assertFalse(login(port, carol, Path.of(carol + "-cert.pub"), "host.example.com", knownHosts), "another CA");
      Path dave = sshKeygenKey("id_dave", "rsa");
      cli(env, null, "ssh", "sign", "--role", "dev-rsa", "--public-key", dave + ".pub").ok();
      String rsaListing = keygen("-L", "-f", dave + "-cert.pub");
      assertTrue(rsaListing.contains("rsa-sha2-512"), rsaListing);
      assertTrue(login(port, dave, Path.of(dave + "-cert.pub"), "host.example.com", knownHosts), sshdLog.toString());
      Path erin = sshKeygenKey("id_erin", "rsa");
      keygen("-s", sha1Ca.toString(), "-t", "ssh-rsa", "-I", "sha1", "-n", "alice", "-V", "-5m:+1h", erin + ".pub");
      assertTrue(keygen("-L", "-f", erin + "-cert.pub").contains("(using ssh-rsa)"), "signed with SHA-1");
      assertFalse(login(port, erin, Path.of(erin + "-cert.pub"), "host.example.com", knownHosts), "SHA-1 RSA");

      // Expired: a one-second certificate (no backdating in this role), two seconds later.
      Path frank = sshKeygenKey("id_frank", "ed25519");
      cli(env, null, "ssh", "sign", "--role", "dev", "--public-key", frank + ".pub", "--ttl", "1s").ok();
      Thread.sleep(2_100);
      assertFalse(login(port, frank, Path.of(frank + "-cert.pub"), "host.example.com", knownHosts), "expired");

      // Revocation by serial: the KRL (CLI and HTTP agree) names it; ssh-keygen -Q and sshd refuse it.
      Path gina = sshKeygenKey("id_gina", "ed25519");
      String ginaSerial = cli(env, null, "ssh", "sign", "--role", "dev", "--public-key", gina + ".pub", "--format",
          "json").ok().json().get("certificate").get("serial").asText();
      Path ginaCert = Path.of(gina + "-cert.pub");
      assertTrue(login(port, gina, ginaCert, "host.example.com", knownHosts), sshdLog.toString());
      JsonNode revoked = cli(env, null, "ssh", "revoke", ginaSerial, "--format", "json").ok().json();
      assertTrue(revoked.get("certificate").has("revoked_at"), revoked.toString());
      Path cliKrl = work.resolve("cli.krl");
      cli(env, null, "ssh", "krl", "users", "-o", cliKrl.toString()).ok();
      Files.write(krl, httpBytes(server, "/v1/ssh/krl/users"));
      assertArrayEquals(Files.readAllBytes(cliKrl), Files.readAllBytes(krl));
      assertTrue(keygenStatus("-Q", "-f", krl.toString(), ginaCert.toString()).contains("REVOKED"));
      assertTrue(keygenStatus("-Q", "-f", krl.toString(), aliceCert.toString()).contains("ok"));
      assertFalse(login(port, gina, ginaCert, "host.example.com", knownHosts), "revoked serial");
      assertTrue(login(port, alice, aliceCert, "host.example.com", knownHosts), "others still log in");

      // Rotation: the old key stays published until its certificates expire, so both old and new ones log in.
      JsonNode rotated = cli(env, null, "ssh", "rotate-ca", "users", "--format", "json").ok().json().get("ca");
      assertEquals(2, rotated.get("keys").size(), rotated.toString());
      String trustedNow = http(server, "/v1/ssh/ca/users");
      assertEquals(2, trustedNow.lines().count(), trustedNow);
      Files.writeString(trusted, trustedNow);
      Files.write(krl, httpBytes(server, "/v1/ssh/krl/users"));
      Path henry = sshKeygenKey("id_henry", "ed25519");
      cli(env, null, "ssh", "sign", "--role", "dev", "--public-key", henry + ".pub").ok();
      assertNotEquals(signingKey(aliceCert), signingKey(Path.of(henry + "-cert.pub")), "signed by the new key");
      assertTrue(login(port, henry, Path.of(henry + "-cert.pub"), "host.example.com", knownHosts), "new key");
      assertTrue(login(port, alice, aliceCert, "host.example.com", knownHosts), "old key, during the overlap");
      assertFalse(login(port, gina, ginaCert, "host.example.com", knownHosts), "still revoked after rotation");

      // Issue: Keywarden makes the key pair; the files work with ssh as they are.
      Path issued = work.resolve("id_issued");
      cli(env, null, "ssh", "issue", "--role", "dev", "-o", issued.toString()).ok();
      assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(issued)));
      assertTrue(login(port, issued, Path.of(issued + "-cert.pub"), "host.example.com", knownHosts), "issued key");

      // Listing and policies: a token that may only sign under role dev.
      assertTrue(cli(env, null, "ssh", "list").ok().out().contains(ginaSerial));
      Path policy = work.resolve("ssh-dev.json");
      Files.writeString(policy, "{\"rules\":[{\"resource\":\"ssh/roles/dev\",\"capabilities\":[\"sign\"]}]}");
      cli(env, null, "policy", "write", "ssh-dev", policy.toString()).ok();
      String app = cli(env, null, "token", "create", "--policy", "ssh-dev", "--format", "json").ok().json()
          .get("token").asText();
      Map<String, String> asApp = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", app);
      Path ivan = sshKeygenKey("id_ivan", "ed25519");
      cli(asApp, null, "ssh", "sign", "--role", "dev", "--public-key", ivan + ".pub").ok();
      cli(asApp, null, "ssh", "issue", "--role", "dev", "-o", work.resolve("x").toString())
          .failed("PERMISSION_DENIED", "'issue'");
      cli(asApp, null, "ssh", "revoke", ginaSerial).failed("PERMISSION_DENIED", "ssh/certs/" + ginaSerial);
      cli(asApp, null, "ssh", "create-ca", "rogue").failed("PERMISSION_DENIED", "ssh/cas");

      // Revocation by key id: every stored certificate of the CA with alice's key id is marked (gina's was already),
      // none with another key id (ivan's, signed as the app); the KRL names the key id and sshd refuses alice.
      String keyId = signed.get("key_id").asText();
      JsonNode byKeyId = cli(env, null, "ssh", "revoke-key-id", "--ca", "users", "--key-id", keyId, "--format",
          "json").ok().json().get("certificates");
      java.util.Set<String> marked = new java.util.TreeSet<>();
      byKeyId.forEach(c -> {
        assertEquals(keyId, c.get("key_id").asText(), byKeyId.toString());
        marked.add(c.get("serial").asText());
      });
      assertTrue(marked.contains(signed.get("serial").asText()), byKeyId.toString());
      assertFalse(marked.contains(ginaSerial), "revoked before: " + byKeyId);
      assertTrue(cli(env, null, "ssh", "cert", signed.get("serial").asText(), "--format", "json").ok().json()
          .get("certificate").has("revoked_at"));
      Files.write(krl, httpBytes(server, "/v1/ssh/krl/users"));
      assertTrue(keygenStatus("-Q", "-f", krl.toString(), aliceCert.toString()).contains("REVOKED"));
      assertTrue(keygenStatus("-Q", "-f", krl.toString(), ivan + "-cert.pub").contains("ok"));
      assertFalse(login(port, alice, aliceCert, "host.example.com", knownHosts), "revoked key id");
    }
  }

  // ---- OpenSSH ----

  private void startSshd(int port, Path hostKey, Path hostCert, Path trusted, Path principals, Path krl)
      throws Exception {
    Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege separation directory
    Path config = work.resolve("sshd_config");
    Files.writeString(config, String.join("\n",
        "Port " + port,
        "ListenAddress 127.0.0.1",
        "HostKey " + hostKey,
        "HostCertificate " + hostCert,
        "PidFile " + work.resolve("sshd.pid"),
        "UsePAM no",
        "StrictModes no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "AuthorizedKeysFile none",
        "TrustedUserCAKeys " + trusted,
        "AuthorizedPrincipalsFile " + principals,
        "RevokedKeys " + krl,
        "PermitRootLogin prohibit-password",
        "LogLevel VERBOSE",
        ""));
    String check = run(List.of(SSHD, "-t", "-f", config.toString()));
    assertTrue(check.isEmpty() || !check.contains("rror"), check);
    sshd = new ProcessBuilder(SSHD, "-D", "-e", "-f", config.toString()).redirectErrorStream(true).start();
    Thread reader = new Thread(() -> {
      try {
        sshd.getInputStream().transferTo(new java.io.OutputStream() {
          @Override
          public void write(int b) {
            sshdLog.append((char) b);
          }
        });
      } catch (IOException ignored) {
        // sshd stopped
      }
    });
    reader.setDaemon(true);
    reader.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!sshdLog.toString().contains("Server listening") && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(sshdLog.toString().contains("Server listening"), "sshd did not start: " + sshdLog);
  }

  /** Whether `ssh … true` logs in with this key and certificate, the host known as {@code hostName}. */
  private boolean login(int port, Path key, Path cert, String hostName, Path knownHosts) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-p", String.valueOf(port),
        "-i", key.toString(), "-o", "CertificateFile=" + cert, "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "HostKeyAlias=" + hostName, "-o", "ConnectTimeout=10",
        System.getProperty("user.name") + "@127.0.0.1", "true"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "ssh hung");
    if (p.exitValue() != 0 && !out.contains("Permission denied") && !out.contains("Host key verification failed")
        && !out.contains("Certificate invalid")) {
      fail("ssh failed for another reason than a refusal: " + out);
    }
    return p.exitValue() == 0;
  }

  private Path sshKeygenKey(String name, String type) throws Exception {
    Path key = work.resolve(name);
    List<String> cmd = new ArrayList<>(List.of("ssh-keygen", "-q", "-t", type, "-N", "", "-C", name, "-f",
        key.toString()));
    if (type.equals("rsa")) {
      cmd.addAll(List.of("-b", "3072"));
    }
    run(cmd);
    return key;
  }

  /** The signing CA key's fingerprint in ssh-keygen -L's listing. */
  private static String signingKey(Path cert) throws Exception {
    return keygen("-L", "-f", cert.toString()).lines().filter(l -> l.contains("Signing CA:")).findFirst()
        .orElseThrow();
  }

  private static String keygen(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("ssh-keygen"));
    cmd.addAll(List.of(args));
    return run(cmd);
  }

  /** ssh-keygen whose non-zero exit is an answer (-Q exits 1 for a revoked key). */
  private static String keygenStatus(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("ssh-keygen"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(30, TimeUnit.SECONDS);
    return out;
  }

  private static String run(List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd));
    assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
    return out;
  }

  private static String http(Server server, String path) throws Exception {
    return new String(httpBytes(server, path), StandardCharsets.UTF_8);
  }

  private static byte[] httpBytes(Server server, String path) throws Exception {
    HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort
        + path)).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, r.statusCode(), path + ": " + new String(r.body(), StandardCharsets.UTF_8));
    return r.body();
  }
}
