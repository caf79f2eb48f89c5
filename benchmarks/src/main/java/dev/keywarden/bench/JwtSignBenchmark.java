package dev.keywarden.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.SignatureAlgorithm;
import dev.keywarden.jwt.JwtAlgorithm;
import dev.keywarden.jwt.JwtEngine;
import dev.keywarden.jwt.JwtIdentity;
import dev.keywarden.jwt.JwtKeySettings;
import dev.keywarden.jwt.JwtRole;
import dev.keywarden.jwt.SignResult;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.openjdk.jmh.annotations.*;

/**
 * JWT signing (one token per call, through the engine as SignJwt calls it) beside the raw signature of the same key in
 * the same run: an HSM ES256 key (SoftHSM2) against its raw PKCS#11 ECDSA rate, and software ES256 and EdDSA keys
 * against Bouncy Castle signing with the very key the engine holds (unwrapped from storage). Target: signJwt ≥ 0.8×
 * raw. Needs SOFTHSM2_CONF (make bench sets it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 6, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(1)
@Threads(2)
public class JwtSignBenchmark {
  private static final JwtIdentity CALLER = JwtIdentity.of("orders-api");
  private static final List<Map<String, Object>> ONE = List.of(Map.of("aud", "payments"));
  private static final Provider BC = new BouncyCastleProvider();

  /** hsm-es256 (SoftHSM2), soft-es256 or soft-eddsa (KEK-wrapped software keys). */
  @Param({"hsm-es256", "soft-es256", "soft-eddsa"})
  public String keyKind;

  private BenchCore bench;
  private Storage storage;
  private Core core;
  private JwtEngine jwt;
  private SignatureAlgorithm algorithm;
  private HsmSigner hsmKey;
  private PrivateKey softKey;
  /** A JWS signing input of the size the engine signs (header and claims, base64url). */
  private byte[] signingInput;

  @Setup
  public void setUp() throws Exception {
    bench = new BenchCore("kw-bench-jwt-");
    storage = bench.storage;
    core = bench.core;
    SecureRandom random = bench.random;
    jwt = new JwtEngine(core, Clock.systemUTC(), random);
    JwtAlgorithm alg = keyKind.endsWith("eddsa") ? JwtAlgorithm.EDDSA : JwtAlgorithm.ES256;
    algorithm = alg.signature();
    jwt.createKey(JwtKeySettings.of("bench", alg, "https://kms.example/v1/jwt/bench")
        .withSoftware(keyKind.startsWith("soft")).withPublishAhead(Duration.ZERO));
    jwt.writeRole(JwtRole.builder("bench", "bench").allowedAudiences("payments").build());
    SignResult first = jwt.sign("bench", "bench", CALLER, ONE, Optional.empty()).get(0);
    String token = first.token().orElseThrow();
    signingInput = token.substring(0, token.lastIndexOf('.')).getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    JsonNode version = new ObjectMapper().readTree(storage.get("jwt/keys/bench").orElseThrow().value())
        .get("versions").get(0);
    if (keyKind.startsWith("hsm")) {
      hsmKey = core.unsealed().hsm().signer(new HsmKeyId(version.get("hsm_label").asText(),
          version.get("hsm_id").asText()));
    } else {
      byte[] pkcs8 = core.unsealed().kek().unwrap(Base64.getDecoder().decode(version.get("wrapped_key").asText()));
      softKey = KeyFactory.getInstance(alg == JwtAlgorithm.EDDSA ? "Ed25519" : "EC", BC)
          .generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    }
  }

  @TearDown
  public void tearDown() throws java.io.IOException {
    bench.closeAndDelete();
  }

  /** Bouncy Castle's signer for the software key, initialized once per thread as a caller of BC would keep it. */
  @State(Scope.Thread)
  public static class RawSigner {
    Signature bc;

    @Setup
    public void setUp(JwtSignBenchmark b) throws GeneralSecurityException {
      if (b.softKey != null) {
        bc = Signature.getInstance(b.algorithm.jcaName(), BC);
        bc.initSign(b.softKey, new SecureRandom());
      }
    }
  }

  /** The raw rate: one signature by the same key over a JWS-sized input (PKCS#11 for HSM keys, BC for software). */
  @Benchmark
  public byte[] rawSign(RawSigner raw) throws GeneralSecurityException {
    if (hsmKey != null) {
      return hsmKey.sign(algorithm, signingInput);
    }
    raw.bc.update(signingInput);
    return raw.bc.sign();
  }

  /** One token end to end: role rules, claims, header, the signature, ECDSA transcoding, the compact form. */
  @Benchmark
  public List<SignResult> signJwt() {
    return jwt.sign("bench", "bench", CALLER, ONE, Optional.empty());
  }
}
