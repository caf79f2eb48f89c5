package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.DecryptItem;
import dev.keywarden.api.v1.DecryptRequest;
import dev.keywarden.api.v1.DecryptResponse;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResponse;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Transit through the real CLI and gRPC against a server on a SoftHSM2 token, across a restart. */
class TransitIT {
  @TempDir
  Path work;

  @Test
  void transitWorksThroughTheCliAndGrpcAcrossARestart() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    Map<String, String> serverEnv = Map.of("SOFTHSM2_CONF", token.conf().toString());
    String[] flags = {"--data-dir", work.resolve("data").toString(), "--pkcs11-library", token.library().toString(),
        "--pkcs11-token", token.label()};
    Server server = startServer(serverEnv, flags);
    String share;
    String root;
    String v1;
    String hsmCt;
    try {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      JsonNode init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString(), "--format", "json").ok().json();
      share = init.get("shares").get(0).asText();
      root = init.get("root_token").asText();
      cli(anon, null, "operator", "unseal", share).ok();
      Map<String, String> env = env(server, root);

      cli(env, null, "transit", "create-key", "orders").ok();
      cli(env, null, "transit", "create-key", "orders").failed("ALREADY_EXISTS", "already exists");
      cli(env, null, "transit", "create-key", "x", "--type", "rot13").failed("INVALID_ARGUMENT", "unknown key type");
      v1 = cli(env, "card 4111", "transit", "encrypt", "orders", "--context", "order-7").ok().out().trim();
      assertTrue(v1.startsWith("kw:v1:"), v1);
      assertEquals("card 4111", cli(env, null, "transit", "decrypt", "orders", v1, "--context", "order-7").ok().out());
      cli(env, null, "transit", "decrypt", "orders", v1, "--context", "order-8")
          .failed("INVALID_ARGUMENT", "failed authentication");
      cli(env, null, "transit", "decrypt", "orders", "kw:v1:AAAA").failed("INVALID_ARGUMENT", "failed authentication");
      cli(env, null, "transit", "decrypt", "nope", v1).failed("NOT_FOUND", "no transit key named 'nope'");

      assertTrue(cli(env, null, "transit", "rotate", "orders").ok().out().contains("version 2"));
      String v2 = cli(env, null, "transit", "rewrap", "orders", v1, "--context", "order-7").ok().out().trim();
      assertTrue(v2.startsWith("kw:v2:"), v2);
      cli(env, null, "transit", "config", "orders", "--min-decryption-version", "2").ok();
      cli(env, null, "transit", "decrypt", "orders", v1, "--context", "order-7")
          .failed("FAILED_PRECONDITION", "min_decryption_version");
      assertTrue(cli(env, null, "transit", "trim", "orders").ok().out().contains("versions 2..2"));
      assertEquals(2, cli(env, null, "transit", "key", "orders", "--format", "json").ok().json()
          .get("key").get("oldest_version").asInt());

      JsonNode dk = cli(env, null, "transit", "datakey", "orders", "--format", "json").ok().json();
      assertEquals(32, java.util.Base64.getDecoder().decode(dk.get("plaintext").asText()).length);

      // The -hsm type: the key never leaves the token; every operation is a PKCS#11 call.
      cli(env, null, "transit", "create-key", "vault", "--type", "aes256-gcm96-hsm").ok();
      hsmCt = cli(env, "in hardware", "transit", "encrypt", "vault").ok().out().trim();
      assertEquals("in hardware", cli(env, null, "transit", "decrypt", "vault", hsmCt).ok().out());
      String objects = token.run(List.of("pkcs11-tool", "--module", token.library().toString(), "--token-label",
          token.label(), "--login", "--pin", new String(token.pin()), "--list-objects", "--type", "secrkey"));
      assertTrue(objects.contains("kw-transit-vault-v1"), objects);

      // Signing and HMAC through the CLI.
      cli(env, null, "transit", "create-key", "signer", "--type", "ecdsa-p256").ok();
      String sig = cli(env, "release 1.2", "transit", "sign", "signer", "--encoding", "jws").ok().out().trim();
      assertEquals("valid", cli(env, "release 1.2", "transit", "verify", "signer", sig, "--encoding", "jws").ok()
          .out().trim());
      assertEquals(1, cli(env, "release 1.3", "transit", "verify", "signer", sig, "--encoding", "jws").exit());
      cli(env, "x", "transit", "encrypt", "signer").failed("INVALID_ARGUMENT", "cannot encrypt");

      // OpenSSL, a verifier nobody here wrote, accepts transit's ECDSA (DER) and Ed25519 signatures.
      Path data = work.resolve("release.txt");
      Files.writeString(data, "release 1.2");
      for (String[] k : new String[][] {{"signer", "ecdsa"}, {"ed", "ed25519"}}) {
        if (k[0].equals("ed")) {
          cli(env, null, "transit", "create-key", "ed", "--type", "ed25519").ok();
        }
        Path pub = work.resolve(k[0] + ".pem");
        Files.writeString(pub, cli(env, null, "transit", "key", k[0], "--format", "json").ok().json()
            .get("key").get("versions").get(0).get("public_key_pem").asText());
        String s = cli(env, null, "transit", "sign", k[0], "--in", data.toString()).ok().out().trim();
        Path sigFile = work.resolve(k[0] + ".sig");
        Files.write(sigFile, java.util.Base64.getDecoder().decode(s.substring(s.indexOf(':', 4) + 1)));
        List<String> verify = k[1].equals("ecdsa")
            ? List.of("openssl", "dgst", "-sha256", "-verify", pub.toString(), "-signature", sigFile.toString(),
                data.toString())
            : List.of("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub.toString(), "-rawin", "-in",
                data.toString(), "-sigfile", sigFile.toString());
        Process p = new ProcessBuilder(verify).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("Verified") || out.contains("Signature Verified Successfully"), out);
      }
      cli(env, null, "transit", "create-key", "mac", "--type", "hmac").ok();
      String mac = cli(env, "payload", "transit", "hmac", "mac").ok().out().trim();
      assertEquals("valid", cli(env, "payload", "transit", "verify-hmac", "mac", mac).ok().out().trim());

      // A policy that allows encrypt but not decrypt.
      Path policy = work.resolve("enc-only.json");
      Files.writeString(policy, "{\"rules\":[{\"resource\":\"transit/keys/orders\",\"capabilities\":[\"encrypt\"]}]}");
      cli(env, null, "policy", "write", "enc-only", policy.toString()).ok();
      String app = cli(env, null, "token", "create", "--policy", "enc-only", "--format", "json").ok().json()
          .get("token").asText();
      Map<String, String> asApp = env(server, app);
      String appCt = cli(asApp, "from the app", "transit", "encrypt", "orders").ok().out().trim();
      cli(asApp, null, "transit", "decrypt", "orders", appCt).failed("PERMISSION_DENIED", "'decrypt'");
      cli(asApp, "x", "transit", "encrypt", "vault").failed("PERMISSION_DENIED", "transit/keys/vault");
      assertEquals("from the app", cli(env, null, "transit", "decrypt", "orders", appCt).ok().out());

      // A batch with good and bad items: each gets its own answer.
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort).usePlaintext().build();
      try {
        Metadata auth = new Metadata();
        auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + root);
        TransitServiceGrpc.TransitServiceBlockingStub stub = TransitServiceGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
        EncryptResponse enc = stub.encrypt(EncryptRequest.newBuilder().setName("orders")
            .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("a")))
            .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[(1 << 20) + 1])))
            .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8("c"))).build());
        assertEquals(3, enc.getResultsCount());
        assertTrue(enc.getResults(0).hasCiphertext());
        assertEquals("INVALID_ARGUMENT", enc.getResults(1).getError().getCode());
        assertTrue(enc.getResults(1).getError().getMessage().contains("limit is 1048576"));
        DecryptResponse dec = stub.decrypt(DecryptRequest.newBuilder().setName("orders")
            .addItems(DecryptItem.newBuilder().setCiphertext(enc.getResults(2).getCiphertext()))
            .addItems(DecryptItem.newBuilder().setCiphertext("garbage"))
            .addItems(DecryptItem.newBuilder().setCiphertext(enc.getResults(0).getCiphertext())).build());
        assertEquals("c", dec.getResults(0).getPlaintext().toStringUtf8());
        assertEquals("INVALID_ARGUMENT", dec.getResults(1).getError().getCode());
        assertEquals("a", dec.getResults(2).getPlaintext().toStringUtf8());
        io.grpc.StatusRuntimeException empty = assertThrows(io.grpc.StatusRuntimeException.class,
            () -> stub.encrypt(EncryptRequest.newBuilder().setName("orders").build()));
        assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, empty.getStatus().getCode());
      } finally {
        channel.shutdownNow();
      }

      cli(env, null, "transit", "delete", "orders").failed("FAILED_PRECONDITION", "protected");
    } finally {
      server.close();
    }

    // After a restart and unseal, everything decrypts as before.
    server = startServer(serverEnv, flags);
    try {
      cli(Map.of("KEYWARDEN_ADDR", server.addr()), null, "operator", "unseal", share).ok();
      Map<String, String> env = env(server, root);
      assertEquals("in hardware", cli(env, null, "transit", "decrypt", "vault", hsmCt).ok().out());
      assertEquals("[\"ed\",\"mac\",\"orders\",\"signer\",\"vault\"]",
          cli(env, null, "transit", "list", "--format", "json").ok().json().get("names").toString());
      cli(env, null, "transit", "config", "orders", "--deletion-allowed").ok();
      cli(env, null, "transit", "delete", "orders").ok();
      cli(env, null, "transit", "decrypt", "orders", v1).failed("NOT_FOUND", "orders");
    } finally {
      server.close();
    }
  }

  private static Map<String, String> env(Server server, String token) {
    Map<String, String> env = new HashMap<>();
    env.put("KEYWARDEN_ADDR", server.addr());
    env.put("KEYWARDEN_TOKEN", token);
    return env;
  }
}
