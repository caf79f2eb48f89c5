package dev.keywarden.server.e2e;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.hsm.KeyType;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.pki.IssuedWithKey;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.pki.RequestedNames;
import dev.keywarden.pki.Role;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.config.ServerSettings.HostPort;
import dev.keywarden.server.wiring.ServerRuntime;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * nginx as a relying party: {@code ssl_crl} makes it check a CRL for every CA of the client's chain, so with a root
 * and an intermediate it needs both CRLs, which {@code /v1/pki/crl/chain.pem} serves in one file. curl is the client.
 */
class NginxCrlIT {
  private static final Path NGINX = Path.of("/usr/sbin/nginx");

  @TempDir
  Path dir;

  @Test
  void nginxAcceptsAGoodClientWithTheChainCrlAndRefusesItOnceRevoked() throws Exception {
    requireNginx();
    SoftHsmToken token = SoftHsmToken.create();
    int http = KeywardenProcesses.freePort();
    String base = "http://127.0.0.1:" + http;
    ServerSettings settings = new ServerSettings(dir.resolve("data"),
        new HostPort("127.0.0.1", KeywardenProcesses.freePort()), new HostPort("127.0.0.1", http),
        token.library(), token.label(), 4, null, null).validate();
    try (ServerRuntime server = ServerRuntime.start(settings)) {
      Core core = server.bean(Core.class);
      InitResult init = core.initialize(1, 1, token.pin(), false, server.bean(TokenStore.class)::initialize);
      core.submitUnsealShare(init.shares().get(0));
      PkiEngine pki = server.bean(PkiEngine.class);
      IssuerInfo root = pki.generateRoot("Nginx Test Root", KeyType.EC_P256, Duration.ofDays(2), Optional.of(base));
      pki.generateIntermediate("Nginx Test Issuing CA", KeyType.EC_P256, Duration.ofDays(1), root.id(),
          Optional.empty(), true);
      pki.writeRole(Role.fromJson("{\"name\":\"clients\",\"allowed_domains\":[\"example.com\"],"
          + "\"allow_subdomains\":true,\"client_flag\":true,\"ttl\":\"1h\"}"));
      IssuedWithKey client = pki.issue("clients", new RequestedNames(Optional.of("app.example.com"),
          List.of("app.example.com"), List.of(), List.of()), Optional.empty(), Optional.empty());
      Path clientCert = Files.writeString(dir.resolve("client.pem"), client.certificate().certificatePem());
      Path clientKey = Files.writeString(dir.resolve("client-key.pem"), client.privateKeyPem());
      Path caChain = Files.write(dir.resolve("ca-chain.pem"), fetch(base + "/v1/pki/ca"));
      Path crls = dir.resolve("crls.pem");

      String chainCrl = new String(fetch(base + "/v1/pki/crl/chain.pem"), StandardCharsets.US_ASCII);
      assertEquals(2, chainCrl.split("-----BEGIN X509 CRL-----", -1).length - 1, "the intermediate's and the root's");
      assertTrue(chainCrl.startsWith(new String(fetch(base + "/v1/pki/crl.pem"), StandardCharsets.US_ASCII)),
          "leaf-most first: the default issuer's CRL is the first");
      Files.writeString(crls, chainCrl);
      try (Nginx nginx = Nginx.start(dir, caChain, crls)) {
        assertEquals(200, nginx.get(clientCert, clientKey), nginx.log());
      }

      // Only the issuing CA's CRL: nginx finds none for the root and refuses every client.
      Files.write(crls, fetch(base + "/v1/pki/crl.pem"));
      try (Nginx nginx = Nginx.start(dir, caChain, crls)) {
        assertEquals(400, nginx.get(clientCert, clientKey));
        assertTrue(nginx.log().contains("unable to get certificate CRL"), nginx.log());
      }

      pki.revoke(client.certificate().serialHex(), 1);
      Files.write(crls, fetch(base + "/v1/pki/crl/chain.pem"));
      try (Nginx nginx = Nginx.start(dir, caChain, crls)) {
        assertEquals(400, nginx.get(clientCert, clientKey));
        assertTrue(nginx.log().contains("certificate revoked"), nginx.log());
      }
      String intermediateId = pki.issuers().stream().filter(IssuerInfo::isDefault).findFirst().orElseThrow().id();
      assertArrayEquals(fetch(base + "/v1/pki/crl/chain.pem"),
          fetch(base + "/v1/pki/issuer/" + intermediateId + "/crl/chain.pem"), "the default issuer's, by id");
      assertEquals(1, new String(fetch(base + "/v1/pki/issuer/" + root.id() + "/crl/chain.pem"),
          StandardCharsets.US_ASCII).split("-----BEGIN X509 CRL-----", -1).length - 1, "a root's chain is itself");
    }
  }

  private static byte[] fetch(String url) throws Exception {
    HttpResponse<byte[]> r = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build()
        .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, r.statusCode(), url + ": " + new String(r.body(), StandardCharsets.UTF_8));
    return r.body();
  }

  /** Skips without nginx and curl, except under CI (CI=true) where their absence is a failure. */
  private static void requireNginx() {
    if (!Files.isExecutable(NGINX) || !Files.isExecutable(Path.of("/usr/bin/curl"))) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail("nginx and curl are required (make deps installs them)");
      }
      Assumptions.abort("nginx or curl is not installed (make deps installs them)");
    }
  }

  /** One nginx process (no daemon, no workers) requiring client certificates on a free loopback port. */
  private static final class Nginx implements AutoCloseable {
    private final Process process;
    private final Path dir;
    private final int port;

    private Nginx(Process process, Path dir, int port) {
      this.process = process;
      this.dir = dir;
      this.port = port;
    }

    static Nginx start(Path parent, Path caChain, Path crls) throws Exception {
      Path dir = Files.createTempDirectory(parent, "nginx");
      Path serverKey = dir.resolve("server-key.pem");
      Path serverCert = dir.resolve("server.pem");
      run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", serverKey.toString(), "-out", serverCert.toString(), "-days", "1", "-subj", "/CN=localhost",
          "-addext", "subjectAltName=IP:127.0.0.1"));
      int port = KeywardenProcesses.freePort();
      Files.writeString(dir.resolve("nginx.conf"), """
          daemon off;
          master_process off;
          pid %1$s/nginx.pid;
          error_log %1$s/error.log info;
          events {}
          http {
            access_log off;
            client_body_temp_path %1$s/body;
            proxy_temp_path %1$s/proxy;
            fastcgi_temp_path %1$s/fastcgi;
            uwsgi_temp_path %1$s/uwsgi;
            scgi_temp_path %1$s/scgi;
            server {
              listen 127.0.0.1:%2$d ssl;
              ssl_certificate %3$s;
              ssl_certificate_key %4$s;
              ssl_verify_client on;
              ssl_client_certificate %5$s;
              ssl_crl %6$s;
              ssl_verify_depth 2;
              location / { return 200 "hello $ssl_client_s_dn\\n"; }
            }
          }
          """.formatted(dir, port, serverCert, serverKey, caChain, crls));
      Process p = new ProcessBuilder(NGINX.toString(), "-e", dir.resolve("error.log").toString(), "-p",
          dir.toString(), "-c", dir.resolve("nginx.conf").toString()).redirectErrorStream(true)
          .redirectOutput(dir.resolve("stdout.log").toFile()).start();
      Nginx nginx = new Nginx(p, dir, port);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (true) {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 200);
          return nginx;
        } catch (IOException notYet) {
          if (!p.isAlive() || System.nanoTime() > deadline) {
            nginx.close();
            fail("nginx did not start: " + nginx.log());
          }
          Thread.sleep(50);
        }
      }
    }

    /** The HTTP status curl gets presenting {@code cert} and {@code key}. */
    int get(Path cert, Path key) throws Exception {
      String out = run(List.of("curl", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}",
          "--cacert", dir.resolve("server.pem").toString(), "--cert", cert.toString(), "--key", key.toString(),
          "https://127.0.0.1:" + port + "/"));
      return Integer.parseInt(out.strip());
    }

    String log() throws IOException {
      Path log = dir.resolve("error.log");
      return (Files.exists(log) ? Files.readString(log) : "") + Files.readString(dir.resolve("stdout.log"));
    }

    @Override
    public void close() throws Exception {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
  }

  private static String run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), String.join(" ", command) + "\n" + out);
    return out;
  }
}
