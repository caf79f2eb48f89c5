package dev.keywarden.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.hsm.SignatureAlgorithm;
import dev.keywarden.pki.CheckedCsr;
import dev.keywarden.pki.CsrCheck;
import dev.keywarden.pki.IssuedCertificate;
import dev.keywarden.pki.IssuerInfo;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.pki.Role;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.openjdk.jmh.annotations.*;

/**
 * SignCsr with an ec-p256 issuer whose key is in SoftHSM2, beside the raw PKCS#11 signature rate of the same key and
 * the CSR check every issuance must make, in one run. Those two are the ceiling of any issuance that checks its CSR;
 * SignCsr (no_store) should reach ≥ 0.85× it ({@link ResultsTable} works the ratio out). The stored variant adds the
 * certificate's durable write; no_store shows issuance alone. Needs SOFTHSM2_CONF (make bench sets it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 6, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(1)
@Threads(2)
public class PkiSignBenchmark {
  private BenchCore bench;
  private Storage storage;
  private Core core;
  private PkiEngine pki;
  private HsmSigner issuerKey;
  private byte[] csr;
  private byte[] tbsSizedMessage;
  private Role role;

  @Setup
  public void setUp() throws Exception {
    bench = new BenchCore("kw-bench-pki-");
    storage = bench.storage;
    core = bench.core;
    SecureRandom random = bench.random;
    pki = new PkiEngine(core, Clock.systemUTC(), random);
    IssuerInfo root = pki.generateRoot("Bench Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
    for (boolean noStore : new boolean[] {false, true}) {
      pki.writeRole(Role.fromJson("{\"name\":\"" + (noStore ? "ephemeral" : "stored")
          + "\",\"allowed_domains\":[\"example.com\"],\"allow_subdomains\":true,\"server_flag\":true,"
          + "\"ttl\":\"1h\",\"max_ttl\":\"1h\",\"no_store\":" + noStore + "}"));
    }
    role = pki.role("ephemeral");
    JsonNode stored = new ObjectMapper().readTree(storage.get("pki/issuers/" + root.id()).orElseThrow().value());
    issuerKey = core.unsealed().hsm().signer(new HsmKeyId(stored.get("hsm_label").asText(),
        stored.get("hsm_id").asText()));
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair key = g.generateKeyPair();
    csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=api.example.com"), key.getPublic())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())).getEncoded();
    tbsSizedMessage = new byte[400];
    random.nextBytes(tbsSizedMessage);
  }

  @TearDown
  public void tearDown() throws java.io.IOException {
    bench.closeAndDelete();
  }

  /** The raw rate: one ECDSA P-256 signature by the issuer's key through PKCS#11. */
  @Benchmark
  public byte[] rawPkcs11Sign() {
    return issuerKey.sign(SignatureAlgorithm.ECDSA_SHA256, tbsSizedMessage);
  }

  /**
   * The part of every issuance that is not the CA's signature and cannot be skipped: parse the CSR, verify its
   * signature (AWS-LC through ACCP) and check its names against the role. With the raw signature it bounds what
   * issuance can reach on this machine.
   */
  @Benchmark
  public CheckedCsr csrCheck() {
    return CsrCheck.check(role, csr);
  }

  /** SignCsr end to end without storing: check the CSR, build the certificate, sign it in the HSM. */
  @Benchmark
  public IssuedCertificate signCsrNoStore() {
    return pki.signCsr("ephemeral", csr, Optional.empty(), Optional.empty());
  }

  /** The four operations above by name, in the order the CPU views print them (after {@link #setUp}). */
  java.util.Map<String, Runnable> operations() {
    java.util.Map<String, Runnable> work = new java.util.LinkedHashMap<>();
    work.put("rawPkcs11Sign", this::rawPkcs11Sign);
    work.put("csrCheck", this::csrCheck);
    work.put("signCsrNoStore", this::signCsrNoStore);
    work.put("signCsrStored", this::signCsrStored);
    return work;
  }

  /** SignCsr with the certificate stored (a durable SQLite write per certificate). */
  @Benchmark
  public IssuedCertificate signCsrStored() {
    return pki.signCsr("stored", csr, Optional.empty(), Optional.empty());
  }
}
