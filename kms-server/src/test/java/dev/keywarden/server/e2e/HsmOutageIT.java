package dev.keywarden.server.e2e;

import static dev.keywarden.server.e2e.KeywardenProcesses.cli;
import static dev.keywarden.server.e2e.KeywardenProcesses.startServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.DecryptItem;
import dev.keywarden.api.v1.DecryptRequest;
import dev.keywarden.api.v1.DecryptResult;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import dev.keywarden.api.v1.EncryptResult;
import dev.keywarden.api.v1.IssueRequest;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.hsm.testing.SoftHsmToken;
import dev.keywarden.server.e2e.KeywardenProcesses.Server;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HSM goes away under an unsealed server and comes back (SoftHSM2's token directory renamed away and back, as a
 * network HSM restarting looks): calls in between fail as UNAVAILABLE and health says so; afterwards the server serves
 * again within 5 s, with no restart and no unseal ceremony, and nothing acknowledged is lost.
 */
class HsmOutageIT {
  @TempDir
  Path work;

  @Test
  void theServerRecoversOnItsOwnWhenTheHsmComesBack() throws Exception {
    SoftHsmToken token = SoftHsmToken.create();
    Path pin = work.resolve("pin");
    Files.writeString(pin, new String(token.pin()));
    Server server = startServer(Map.of("SOFTHSM2_CONF", token.conf().toString()),
        "--data-dir", work.resolve("data").toString(), "--pkcs11-library", token.library().toString(),
        "--pkcs11-token", token.label());
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort).usePlaintext().build();
    try {
      Map<String, String> anon = Map.of("KEYWARDEN_ADDR", server.addr());
      var init = cli(anon, null, "operator", "init", "--shares", "1", "--threshold", "1", "--hsm-pin-file",
          pin.toString(), "--format", "json").ok().json();
      String root = init.get("root_token").asText();
      cli(anon, null, "operator", "unseal", init.get("shares").get(0).asText()).ok();
      Map<String, String> env = Map.of("KEYWARDEN_ADDR", server.addr(), "KEYWARDEN_TOKEN", root);
      // vault: the key is a token object, every operation a PKCS#11 call. warm: KEK-wrapped, unwrapped before the
      // outage. cold: KEK-wrapped and first used after the outage, so that first use needs an unwrap in the HSM
      // (convergent, because transit unwraps every key that counts random nonces at creation and unseal, to reserve
      // nonces ahead of need).
      cli(env, null, "transit", "create-key", "vault", "--type", "aes256-gcm96-hsm").ok();
      cli(env, null, "transit", "create-key", "warm").ok();
      cli(env, null, "transit", "create-key", "cold", "--derived", "--convergent").ok();
      cli(env, null, "pki", "generate-root", "--common-name", "Outage Root", "--key-type", "ec-p256").ok();
      cli(env, null, "pki", "create-role", "web", "--allowed-domains", "example.com", "--allow-subdomains",
          "--server", "--ttl", "1h").ok();

      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + root);
      var transit = TransitServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
      var pki = PkiServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
      Supplier<Outcome> issue = () -> {
        try {
          return Outcome.ok(pki.issue(IssueRequest.newBuilder().setRole("web").setCommonName("api.example.com")
              .build()).getSerial());
        } catch (StatusRuntimeException e) {
          return Outcome.failed(e);
        }
      };

      List<String[]> acknowledged = new ArrayList<>(); // {key, ciphertext, plaintext}
      acknowledged.add(new String[] {"vault", encrypt(transit, "vault", "before, in hardware").value(),
          "before, in hardware"});
      acknowledged.add(new String[] {"warm", encrypt(transit, "warm", "before, wrapped").value(), "before, wrapped"});
      List<String> serials = new ArrayList<>();
      serials.add(issue.get().value());
      assertEquals(200, httpHealth(server).statusCode());

      SoftHsmToken.Away away = token.takeAway();
      long backAt;
      try {
        assertUnavailable(encrypt(transit, "vault", "during"));
        assertUnavailable(encrypt(transit, "cold", "during", COLD_CONTEXT));
        assertUnavailable(issue.get());
        // A key already unwrapped needs no HSM: what is acknowledged now must survive too.
        Outcome warmDuring = encrypt(transit, "warm", "during, wrapped");
        assertEquals(null, warmDuring.code(), warmDuring.message());
        acknowledged.add(new String[] {"warm", warmDuring.value(), "during, wrapped"});

        HttpResponse<String> health = httpHealth(server);
        assertEquals(503, health.statusCode(), health.body());
        assertTrue(health.body().contains("the HSM is unreachable"), health.body());
        assertTrue(health.body().contains("\"sealed\":false"), health.body());
        awaitStatus(channel, ServingStatus.NOT_SERVING);
      } finally {
        SoftHsmToken.bringBack(away);
        backAt = System.nanoTime();
      }

      // A client retrying UNAVAILABLE every 100 ms: the first success must come within 5 s.
      Outcome recovered;
      do {
        recovered = encrypt(transit, "vault", "after, in hardware");
        if (recovered.code() != null) {
          assertUnavailable(recovered);
          Thread.sleep(100);
        }
      } while (recovered.code() != null && System.nanoTime() - backAt < TimeUnit.SECONDS.toNanos(5));
      long recoveryMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - backAt);
      System.out.println("HsmOutageIT: transit on the HSM served again " + recoveryMs
          + " ms after the token came back");
      assertEquals(null, recovered.code(), "not recovered within 5 s: " + recovered.message());
      acknowledged.add(new String[] {"vault", recovered.value(), "after, in hardware"});

      Outcome cold = encrypt(transit, "cold", "after, first unwrap", COLD_CONTEXT);
      assertEquals(null, cold.code(), cold.message());
      acknowledged.add(new String[] {"cold", cold.value(), "after, first unwrap"});
      Outcome issued = issue.get();
      assertEquals(null, issued.code(), issued.message());
      serials.add(issued.value());
      assertEquals(200, httpHealth(server).statusCode());
      awaitStatus(channel, ServingStatus.SERVING);

      // Nothing acknowledged is lost.
      for (String[] a : acknowledged) {
        DecryptResult r = transit.decrypt(DecryptRequest.newBuilder().setName(a[0])
            .addItems(DecryptItem.newBuilder().setCiphertext(a[1])
                .setContext(a[0].equals("cold") ? COLD_CONTEXT : ByteString.EMPTY)).build()).getResults(0);
        assertTrue(r.hasPlaintext(), a[0] + ": " + r.getError().getMessage());
        assertEquals(a[2], r.getPlaintext().toStringUtf8());
      }
      for (String serial : serials) {
        assertTrue(cli(env, null, "pki", "cert", serial).ok().out().contains("valid"), serial);
      }
      assertFalse(server.log.toString().contains(new String(token.pin())), "the PIN reached the server log");
    } finally {
      channel.shutdownNow();
      server.close();
    }
  }

  /** A transit result: the value, or the gRPC code name and message of the failure (the call's or the item's). */
  private record Outcome(String value, String code, String message) {
    static Outcome ok(String value) {
      return new Outcome(value, null, null);
    }

    static Outcome failed(StatusRuntimeException e) {
      return new Outcome(null, e.getStatus().getCode().name(), e.getStatus().getDescription());
    }
  }

  private static final ByteString COLD_CONTEXT = ByteString.copyFromUtf8("tenant-1");

  private static Outcome encrypt(TransitServiceGrpc.TransitServiceBlockingStub transit, String key, String text) {
    return encrypt(transit, key, text, ByteString.EMPTY);
  }

  private static Outcome encrypt(TransitServiceGrpc.TransitServiceBlockingStub transit, String key, String text,
      ByteString context) {
    try {
      EncryptResult r = transit.encrypt(EncryptRequest.newBuilder().setName(key)
          .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFromUtf8(text)).setContext(context)).build())
          .getResults(0);
      return r.hasCiphertext() ? Outcome.ok(r.getCiphertext())
          : new Outcome(null, r.getError().getCode(), r.getError().getMessage());
    } catch (StatusRuntimeException e) {
      return Outcome.failed(e);
    }
  }

  private static void assertUnavailable(Outcome outcome) {
    assertEquals("UNAVAILABLE", outcome.code(), outcome.message());
    assertTrue(outcome.message().contains("the HSM is unreachable"), outcome.message());
    assertFalse(outcome.message().contains("no longer holds"), outcome.message());
  }

  private static HttpResponse<String> httpHealth(Server server) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + server.httpPort + "/v1/sys/health")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** gRPC health is refreshed every second; waits up to 5 s for {@code wanted}. */
  private static void awaitStatus(ManagedChannel channel, ServingStatus wanted) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    ServingStatus status;
    do {
      status = HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.newBuilder()
          .setService("keywarden.v1.TransitService").build()).getStatus();
      if (status == wanted) {
        return;
      }
      Thread.sleep(100);
    } while (System.nanoTime() < deadline);
    assertEquals(wanted, status);
  }
}
