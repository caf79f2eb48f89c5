package dev.keywarden.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.ssh.CertType;
import dev.keywarden.ssh.SignRequest;
import dev.keywarden.ssh.SignedSshCertificate;
import dev.keywarden.ssh.SshEngine;
import dev.keywarden.ssh.SshIdentity;
import dev.keywarden.ssh.SshRole;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/**
 * SSH certificate signing with a CA key in SoftHSM2, beside the raw PKCS#11 signature rate of the same key, in one
 * run. An SSH certificate has no CSR to verify, so the HSM signature should be nearly all of its cost (target: no_store
 * Sign ≥ 0.8× raw). The stored variant adds the certificate's durable write. Needs SOFTHSM2_CONF (make bench sets it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 6, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(1)
@Threads(2)
public class SshSignBenchmark {
  private static final SshIdentity CALLER = new SshIdentity("bench", Map.of());

  /** The CA's key type. */
  @Param({"ec-p256", "ed25519"})
  public String caKeyType;

  private BenchCore bench;
  private Storage storage;
  private Core core;
  private SshEngine ssh;
  private HsmSigner caKey;
  private KeyType type;
  private byte[] certSizedMessage;
  private SignRequest request;

  @Setup
  public void setUp() throws Exception {
    bench = new BenchCore("kw-bench-ssh-");
    storage = bench.storage;
    core = bench.core;
    SecureRandom random = bench.random;
    ssh = new SshEngine(core, Clock.systemUTC(), random);
    type = KeyType.parse(caKeyType);
    ssh.createCa("users", type, Optional.of(CertType.USER));
    for (boolean noStore : new boolean[] {false, true}) {
      ssh.writeRole(new SshRole(noStore ? "ephemeral" : "stored", CertType.USER, "users", List.of("alice"),
          List.of("alice"), false, List.of(), false, false, false, Duration.ofHours(1), Duration.ofHours(1),
          List.of("permit-pty"), Map.of("permit-pty", ""), List.of(), Map.of(), List.of(), 0, null, false, null,
          noStore, null));
    }
    JsonNode ca = new ObjectMapper().readTree(storage.get("ssh/cas/users").orElseThrow().value());
    JsonNode key = ca.get("keys").get(0);
    caKey = core.unsealed().hsm().signer(new HsmKeyId(key.get("hsm_label").asText(), key.get("hsm_id").asText()));
    certSizedMessage = new byte[300]; // an ed25519 user certificate's signed part, principals and extensions included
    random.nextBytes(certSizedMessage);
    request = new SignRequest("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM39sZ/3fp+yKo0xnkLBDHqHYKzr5k1afeDL1VtZyjy8"
        + " alice@example", List.of(), Optional.empty(), Optional.empty(), Map.of(), Map.of(), Optional.empty());
  }

  @TearDown
  public void tearDown() throws java.io.IOException {
    bench.closeAndDelete();
  }

  /** The raw rate: one signature by the CA's key through PKCS#11, as the certificate's signature is made. */
  @Benchmark
  public byte[] rawPkcs11Sign() {
    return caKey.sign(type.signatureAlgorithm(), certSizedMessage);
  }

  /** Sign end to end without storing: parse the key, apply the role, encode, one HSM signature. */
  @Benchmark
  public SignedSshCertificate signNoStore() {
    return ssh.sign("ephemeral", CALLER, request);
  }

  /** Sign with the certificate stored (a durable SQLite write per certificate). */
  @Benchmark
  public SignedSshCertificate signStored() {
    return ssh.sign("stored", CALLER, request);
  }
}
