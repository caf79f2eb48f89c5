package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Result;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole ceremony as operators run it: the real CLI against a real server process on a SoftHSM2 token —
 * init 5/3, unseal, tokens and policies, seal, restart, unseal with other shares, rekey, generate-root.
 */
class UnsealCeremonyIT {
  @TempDir
  Path work;

  @Test
  void operatorsBringTheServerUpSealItRestartItRekeyAndGenerateRoot() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path dataDir = work.resolve("data");
    Path pinFile = work.resolve("pin");
    Files.writeString(pinFile, new String(token.pin()) + "\n");
    Map<String, String> serverEnv = Map.of("SOFTHSM2_CONF", token.conf().toString());
    String[] serverFlags = {"--data-dir", dataDir.toString(), "--pkcs11-library", token.library().toString(),
        "--pkcs11-token", token.label()};
    List<String> secrets = new ArrayList<>();
    secrets.add(new String(token.pin()));

    Server server = startServer(serverEnv, serverFlags);
    try {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      JsonNode status = cli(anon, null, "status", "--format", "json").ok().json();
      assertFalse(status.get("initialized").asBoolean());
      assertEquals("pkcs11", status.get("hsm_kind").asText());
      assertEquals(token.label(), status.get("hsm_token").asText());
      assertEquals(501, httpHealth(server));

      // A wrong PIN is refused and leaves the server uninitialized.
      Path wrongPin = work.resolve("wrong-pin");
      Files.writeString(wrongPin, "00000000\n");
      cli(anon, null, "operator", "init", "--shares", "5", "--threshold", "3", "--hsm-pin-file", wrongPin.toString())
          .failed("UNAUTHENTICATED", "refused the PIN");
      assertFalse(cli(anon, null, "status", "--format", "json").ok().json().get("initialized").asBoolean());

      // init 5/3, PIN on standard input this time.
      JsonNode init = cli(anon, new String(token.pin()) + "\n", "operator", "init", "--shares", "5",
          "--threshold", "3", "--format", "json").ok().json();
      List<String> shares = new ArrayList<>();
      init.get("shares").forEach(s -> shares.add(s.asText()));
      assertEquals(5, shares.size());
      String root = init.get("root_token").asText();
      String kekLabel = init.get("kek_label").asText();
      secrets.addAll(shares);
      secrets.add(root);
      cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file", pinFile.toString())
          .failed("ALREADY_EXISTS", "already initialized");

      // The KEK, read by a PKCS#11 client nobody here wrote: sensitive and never extractable.
      String objects = token.run(List.of("pkcs11-tool", "--module", token.library().toString(), "--token-label",
          token.label(), "--login", "--pin", new String(token.pin()), "--list-objects", "--type", "secrkey"));
      assertTrue(objects.contains(kekLabel), objects);
      String kekBlock = objects.substring(objects.indexOf(kekLabel));
      kekBlock = kekBlock.contains("Object;") ? kekBlock.substring(0, kekBlock.indexOf("Object;")) : kekBlock;
      assertTrue(kekBlock.contains("sensitive"), objects);
      assertTrue(kekBlock.contains("never extractable"), objects);

      // Sealed: every authenticated RPC says so; health says NOT_SERVING.
      cli(Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", root), null, "token", "lookup")
          .failed("FAILED_PRECONDITION", "sealed");
      assertEquals(ServingStatus.NOT_SERVING, grpcHealth(server));

      // Unseal: a mistyped share is refused at once; the same share twice counts once.
      String typo = shares.get(1).substring(0, 10) + flip(shares.get(1).charAt(10)) + shares.get(1).substring(11);
      cli(anon, null, "operator", "unseal", typo).failed("INVALID_ARGUMENT", "mistyped");
      assertEquals(1, cli(anon, null, "operator", "unseal", shares.get(0), "--format", "json").ok().json()
          .get("progress").asInt());
      assertEquals(1, cli(anon, null, "operator", "unseal", shares.get(0), "--format", "json").ok().json()
          .get("progress").asInt());
      cli(anon, shares.get(1) + "\n", "operator", "unseal").ok(); // prompted, from standard input
      assertTrue(cli(anon, null, "operator", "unseal", shares.get(2)).ok().out().contains("unsealed"));
      cli(anon, null, "operator", "unseal", shares.get(3)).failed("FAILED_PRECONDITION", "already unsealed");
      assertEquals(ServingStatus.SERVING, grpcHealth(server));
      assertEquals(200, httpHealth(server));

      // Tokens and policies: deny by default.
      Map<String, String> asRoot = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", root);
      cli(anon, null, "policy", "list").failed("UNAUTHENTICATED", "no credentials: send 'authorization: Bearer <token>'");
      cli(Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", "kwt_nope"), null, "policy", "list")
          .failed("UNAUTHENTICATED", "malformed");
      Path sealerPolicy = work.resolve("sealer.json");
      Files.writeString(sealerPolicy, "{\"rules\": [{\"resource\": \"sys/seal\", \"capabilities\": [\"update\"]}]}");
      Path readerPolicy = work.resolve("reader.json");
      Files.writeString(readerPolicy, "{\"rules\": [{\"resource\": \"sys/policies*\", \"capabilities\": [\"read\", \"list\"]}]}");
      cli(asRoot, null, "policy", "write", "sealer", sealerPolicy.toString()).ok();
      cli(asRoot, null, "policy", "write", "reader", readerPolicy.toString()).ok();
      cli(asRoot, "{\"rules\": [{\"resource\": \"x\", \"capabilities\": [\"fly\"]}]}", "policy", "write", "bad", "-")
          .failed("INVALID_ARGUMENT", "unknown capability 'fly'");
      cli(asRoot, "{\"rules\": [", "policy", "write", "bad", "-").failed("INVALID_ARGUMENT", "not valid JSON");
      cli(asRoot, null, "policy", "read", "nope").failed("NOT_FOUND", "no policy named 'nope'");
      cli(asRoot, null, "token", "create", "--policy", "nope").failed("NOT_FOUND", "no policy named 'nope'");
      assertEquals("[\"root\",\"reader\",\"sealer\"]",
          cli(asRoot, null, "policy", "list", "--format", "json").ok().json().get("names").toString());

      JsonNode readerToken = cli(asRoot, null, "token", "create", "--policy", "reader", "--ttl", "1h",
          "--format", "json").ok().json();
      String reader = readerToken.get("token").asText();
      secrets.add(reader);
      Map<String, String> asReader = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", reader);
      assertTrue(cli(asReader, null, "policy", "read", "sealer").ok().out().contains("sys/seal"));
      cli(asReader, null, "policy", "write", "x", sealerPolicy.toString()).failed("PERMISSION_DENIED", "'update'");
      cli(asReader, null, "operator", "seal").failed("PERMISSION_DENIED", "sys/seal");
      String metrics = http(server, "/v1/sys/metrics");
      assertTrue(metrics.lines().anyMatch(l -> l.startsWith("keywarden_grpc_server_requests_seconds_count")
          && l.contains("code=\"PERMISSION_DENIED\"") && l.contains("method=\"keywarden.v1.SystemService/Seal\"")),
          "the denied seal is counted with its final status:\n" + metrics);
      assertTrue(metrics.contains("keywarden_sealed 0.0"), metrics);
      cli(asReader, null, "token", "create", "--policy", "sealer").failed("PERMISSION_DENIED", "sys/tokens");
      assertEquals("reader", cli(asReader, null, "token", "lookup", "--format", "json").ok().json()
          .get("info").get("policies").get(0).asText());

      String sealer = cli(asRoot, null, "token", "create", "--policy", "sealer", "--format", "json").ok().json()
          .get("token").asText();
      secrets.add(sealer);
      cli(Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", sealer), null, "operator", "seal").ok();
      assertTrue(cli(anon, null, "status", "--format", "json").ok().json().get("sealed").asBoolean());
    } finally {
      server.close();
    }

    // Restart: comes up sealed; any other three shares unseal it.
    server = startServer(serverEnv, serverFlags);
    try {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      JsonNode status = cli(anon, null, "status", "--format", "json").ok().json();
      assertTrue(status.get("initialized").asBoolean());
      assertTrue(status.get("sealed").asBoolean());
      assertEquals(3, status.get("threshold").asInt());
      List<String> shares = List.copyOf(secrets.subList(1, 6));
      String root = secrets.get(6);
      for (int i : new int[] {4, 1, 3}) {
        cli(anon, null, "operator", "unseal", shares.get(i)).ok();
      }
      Map<String, String> asRoot = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", root);
      assertEquals("root", cli(asRoot, null, "token", "lookup", "--format", "json").ok().json()
          .get("info").get("policies").get(0).asText());

      // Rekey to 4/2 with three current shares; the old shares stop working.
      Result rekey = cli(asRoot, null, "operator", "rekey", "--shares", "4", "--threshold", "2", "--format", "json",
          shares.get(0), shares.get(2), shares.get(4)).ok();
      JsonNode done = rekey.json();
      assertTrue(done.get("complete").asBoolean());
      List<String> newShares = new ArrayList<>();
      done.get("shares").forEach(s -> newShares.add(s.asText()));
      assertEquals(4, newShares.size());
      secrets.addAll(newShares);
      cli(asRoot, null, "operator", "seal").ok();
      cli(anon, null, "operator", "unseal", shares.get(0)).failed("INVALID_ARGUMENT", "another share set");
      cli(anon, null, "operator", "unseal", newShares.get(3)).ok();
      assertTrue(cli(anon, null, "operator", "unseal", newShares.get(1)).ok().out().contains("unsealed"));

      // An interrupted rekey leaves the current shares valid.
      cli(asRoot, null, "operator", "rekey", "--shares", "3", "--threshold", "2", newShares.get(0)).ok();
      assertFalse(cli(anon, null, "status", "--format", "json").ok().json().get("rekey_nonce").asText().isEmpty());
      cli(asRoot, null, "operator", "rekey", "--cancel").ok();

      // Revoke the root token; only K shares make a new one.
      cli(asRoot, null, "token", "revoke").ok();
      cli(asRoot, null, "token", "lookup").failed("UNAUTHENTICATED", "not valid");
      cli(anon, null, "operator", "generate-root", "--format", "json", newShares.get(0))
          .ok();
      JsonNode generated = cli(anon, null, "operator", "generate-root", "--format", "json",
          "--nonce", cli(anon, null, "status", "--format", "json").ok().json().get("generate_root_nonce").asText(),
          newShares.get(2)).ok().json();
      assertTrue(generated.get("complete").asBoolean());
      String newRoot = generated.get("root_token").asText();
      secrets.add(newRoot);
      Map<String, String> asNewRoot = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", newRoot);
      cli(asNewRoot, null, "policy", "list").ok();
    } finally {
      server.close();
    }

    // Nothing secret reached storage: not the PIN, a share, or any token.
    assertSecretsAbsent(dataDir, secrets);
  }

  private static void assertSecretsAbsent(Path dir, List<String> secrets) throws Exception {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(Files::isRegularFile).toList();
    }
    assertFalse(files.isEmpty());
    for (Path f : files) {
      String content = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
      for (String secret : secrets) {
        String needle = secret.startsWith("kwt_") ? secret.substring(4) : secret;
        assertFalse(content.contains(needle), "a secret was found in " + f.getFileName());
      }
    }
  }

  static char flip(char c) {
    return c == 'A' ? 'B' : 'A';
  }

  static String http(Server server, String path) throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort + path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  static int httpHealth(Server server) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort + "/v1/sys/health")).build(),
        HttpResponse.BodyHandlers.ofString());
    return r.statusCode();
  }

  static ServingStatus grpcHealth(Server server) throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort).usePlaintext().build();
    try {
      return HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.newBuilder()
          .setService("keywarden.v1.SystemService").build()).getStatus();
    } finally {
      channel.shutdownNow();
    }
  }
}
