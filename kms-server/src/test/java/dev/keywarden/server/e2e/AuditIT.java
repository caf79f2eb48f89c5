package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Result;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit log end to end: a real server on SoftHSM2, the real CLI, a file device and a socket device (a collector
 * in the test). Every call after enabling has a request and a response record, no secret the run used is in either
 * log, the chain verifies offline with the public key from HTTP, and any edit of the file is named by its line.
 */
class AuditIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  @TempDir
  Path work;

  /** Lines a socket device sends, collected by the test. */
  static final class Collector implements AutoCloseable {
    final ServerSocket server;
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    final Thread thread;

    Collector() throws Exception {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      thread = new Thread(() -> {
        try {
          while (true) {
            Socket s = server.accept();
            Thread reader = new Thread(() -> {
              try (BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(),
                  StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  lines.add(line);
                }
              } catch (Exception ignored) {
                // connection ended
              }
            });
            reader.setDaemon(true);
            reader.start();
          }
        } catch (Exception ignored) {
          // closed
        }
      });
      thread.setDaemon(true);
      thread.start();
    }

    String address() {
      return "tcp:127.0.0.1:" + server.getLocalPort();
    }

    @Override
    public void close() throws Exception {
      server.close();
    }
  }

  @Test
  void everyCallIsAuditedWithoutSecretsAndTheChainVerifies() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    Path log = work.resolve("audit.log");
    Server server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()), "--data-dir",
        work.resolve("data").toString(), "--pkcs11-library", token.library().toString(), "--pkcs11-token",
        token.label());
    try (Collector collector = new Collector()) {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString(), "--format", "json").ok().json();
      String share = init.get("shares").get(0).asText();
      String root = init.get("root_token").asText();
      cli(anon, null, "operator", "unseal", share).ok();
      Map<String, String> env = env(server, root);

      assertTrue(cli(env, null, "audit", "list").ok().out().contains("No audit device"));
      cli(env, null, "audit", "enable", "file", "--path", log.toString(), "--fsync-interval", "150ms", "main")
          .failed("INVALID_ARGUMENT", "0 to 100ms");
      cli(env, null, "audit", "enable", "file", "--path", log.toString(), "--fsync", "every-record",
          "--fsync-interval", "2ms", "main").failed("INVALID_ARGUMENT", "batched file device only");
      cli(env, null, "audit", "enable", "file", "--path", log.toString(), "--fsync-interval", "2ms", "main").ok();
      cli(env, null, "audit", "enable", "socket", "--address", collector.address(), "--timeout", "1s", "ship").ok();
      String list = cli(env, null, "audit", "list").ok().out();
      assertTrue(list.contains("main") && list.contains("ship") && list.contains("HEALTHY"), list);
      assertTrue(list.contains("fsync=batched  fsync-interval=0.002s"), list);

      Path policy = work.resolve("enc-only.json");
      Files.writeString(policy, "{\"rules\":[{\"resource\":\"transit/keys/orders\",\"capabilities\":[\"encrypt\"]}]}");
      cli(env, null, "policy", "write", "enc-only", policy.toString()).ok();
      String app = cli(env, null, "token", "create", "--policy", "enc-only", "--format", "json").ok().json()
          .get("token").asText();
      cli(env, null, "transit", "create-key", "orders").ok();
      String plain1 = "card 4111-1111-1111-1111 audit-secret";
      String ct1 = cli(env, plain1, "transit", "encrypt", "orders").ok().out().trim();
      assertEquals(plain1, cli(env, null, "transit", "decrypt", "orders", ct1).ok().out());
      String plain2 = "the app's own plaintext 7f3a";
      String ct2 = cli(env(server, app), plain2, "transit", "encrypt", "orders").ok().out().trim();
      cli(env(server, app), null, "transit", "decrypt", "orders", ct2).failed("PERMISSION_DENIED", "'decrypt'");
      cli(env, null, "pki", "generate-root", "--common-name", "Audit Test Root", "--key-type", "ec-p256", "--ttl",
          "87600h").ok();
      cli(env, null, "pki", "create-role", "web", "--allowed-domains", "example.com", "--allow-subdomains",
          "--server", "--ttl", "1h").ok();
      JsonNode issued = cli(env, null, "pki", "issue", "web", "--common-name", "db.example.com", "--format", "json")
          .ok().json();
      String privateKey = issued.get("private_key_pem").asText();
      String keyBody = privateKey.lines().filter(l -> !l.startsWith("-----")).reduce("", String::concat);

      // the public key over HTTP, then the file verifies offline
      Path pub = work.resolve("audit.pub");
      Files.writeString(pub, http(server, "/v1/sys/audit/public-key"));
      Result verified = cli(Map.of(), null, "audit", "verify", log.toString(), "--public-key", pub.toString()).ok();
      assertTrue(verified.out().startsWith("intact"), verified.out());

      // a request and a response for every call after enabling; the RPCs this run made are there
      List<JsonNode> records = new ArrayList<>();
      for (String line : Files.readAllLines(log)) {
        records.add(KeywardenProcesses.JSON.readTree(line));
      }
      Map<String, Set<String>> byId = new TreeMap<>();
      Map<String, String> rpcOf = new HashMap<>();
      for (JsonNode r : records) {
        if (r.has("id")) {
          byId.computeIfAbsent(r.get("id").asText(), k -> new TreeSet<>()).add(r.get("type").asText());
          if (r.has("rpc")) {
            rpcOf.put(r.get("id").asText(), r.get("rpc").asText());
          }
        }
      }
      byId.forEach((id, types) -> assertEquals(Set.of("request", "response"), types, id + " " + rpcOf.get(id)));
      Set<String> rpcs = new TreeSet<>(rpcOf.values());
      for (String m : List.of("AuditService/EnableAuditDevice", "AuditService/ListAuditDevices",
          "PolicyService/WritePolicy", "TokenService/CreateToken", "TransitService/CreateKey", "TransitService/Encrypt",
          "TransitService/Decrypt", "PkiService/GenerateRoot", "PkiService/Issue")) {
        assertTrue(rpcs.stream().anyMatch(r -> r.endsWith(m)), m + " not in " + rpcs);
      }
      JsonNode denied = records.stream().filter(r -> "request".equals(r.path("type").asText())
          && !r.path("decision").path("allowed").asBoolean(true)).findFirst().orElseThrow();
      assertTrue(denied.path("decision").path("reason").asText().contains("permission denied"), denied.toString());
      assertEquals("transit/keys/orders", denied.path("resource").asText());
      assertEquals(List.of("enc-only"), List.of(denied.path("caller").path("policies").get(0).asText()));
      assertFalse(denied.path("caller").path("accessor").asText().isEmpty());

      // no secret the run used, in the file or on the socket
      String file = Files.readString(log);
      String socket = String.join("\n", collector.lines);
      assertTrue(collector.lines.size() > 10, "the collector got " + collector.lines.size() + " lines");
      Map<String, String> secrets = Map.of("root token", root, "app token", app, "plaintext 1", plain1,
          "plaintext 2", plain2, "ciphertext 1", ct1, "ciphertext 2", ct2, "unseal share", share,
          "issued private key", keyBody.substring(0, 40), "plaintext 1 base64",
          java.util.Base64.getEncoder().encodeToString(plain1.getBytes(StandardCharsets.UTF_8)));
      secrets.forEach((what, value) -> {
        assertFalse(file.contains(value), what + " in the audit file");
        assertFalse(socket.contains(value), what + " on the audit socket");
      });

      // the devices' counters are exported for Prometheus
      String metrics = http(server, "/v1/sys/metrics");
      java.util.regex.Matcher written = java.util.regex.Pattern.compile(
          "keywarden_audit_records_written_total\\{device=\"main\",?\\} ([0-9.E]+)").matcher(metrics);
      assertTrue(written.find(), metrics);
      assertTrue(Double.parseDouble(written.group(1)) > 10, written.group());
      assertTrue(metrics.contains("keywarden_audit_write_latency_seconds_count{device=\"ship\""), "no latency");
      assertTrue(metrics.contains("keywarden_audit_queue_depth{device=\"main\""), "no queue depth");
      assertTrue(metrics.contains("keywarden_audit_requests_refused_total"), "no refused counter");

      // without --public-key, verify asks the server for the key
      assertTrue(cli(env, null, "audit", "verify", log.toString()).ok().out().startsWith("intact"));

      // the app token's HMAC finds its records (the create response); so does a ciphertext's
      String tokenHmac = cli(env, null, "audit", "hash", "--device", "main", app).ok().out().trim();
      assertTrue(tokenHmac.startsWith("hmac-sha256:"), tokenHmac);
      assertTrue(file.contains(tokenHmac), "the app token's HMAC is not in the file");
      String ctHmac = cli(env, null, "audit", "hash", "--device", "main", ct1).ok().out().trim();
      assertTrue(file.contains(ctHmac), "ciphertext 1's HMAC is not in the file");

      // tampering is named by its line
      List<String> lines = Files.readAllLines(log);
      int at = 5;
      List<String> edited = new ArrayList<>(lines);
      edited.set(at - 1, lines.get(at - 1).replaceFirst("\"time\":\"2", "\"time\":\"3"));
      assertNotEquals(lines.get(at - 1), edited.get(at - 1));
      expectBroken(edited, pub, "edited", at);
      List<String> deleted = new ArrayList<>(lines);
      deleted.remove(at - 1);
      expectBroken(deleted, pub, "deleted", at);
      List<String> swapped = new ArrayList<>(lines);
      Collections.swap(swapped, at - 1, at);
      expectBroken(swapped, pub, "swapped", at);
      List<String> inserted = new ArrayList<>(lines);
      inserted.add(at - 1, lines.get(2));
      expectBroken(inserted, pub, "inserted", at);

      // disabling writes a final checkpoint: the closed log verifies with --closed
      cli(env, null, "audit", "disable", "main").ok();
      assertTrue(cli(Map.of(), null, "audit", "verify", "--closed", log.toString(), "--public-key", pub.toString())
          .ok().out().contains("final checkpoint"));
    } finally {
      server.close();
    }
  }

  private void expectBroken(List<String> lines, Path pub, String name, int line) throws Exception {
    Path f = work.resolve(name + ".log");
    Files.write(f, lines);
    Result r = cli(Map.of(), null, "audit", "verify", f.toString(), "--public-key", pub.toString());
    assertEquals(1, r.exit(), name + ": " + r.out() + r.err());
    assertTrue(r.err().contains(f + " line " + line + ":"), name + ": " + r.err());
  }

  private static Map<String, String> env(Server server, String token) {
    Map<String, String> env = new HashMap<>();
    env.put("KEYWARDEN_ADDR", server.addr());
    env.put("KEYWARDEN_TOKEN", token);
    return env;
  }

  private static String http(Server server, String path) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort
        + path)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), path + ": " + r.body());
    return r.body();
  }
}
