package dev.keywarden.bench;

import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.transit.KeyType;
import dev.keywarden.transit.KeyringConfig;
import dev.keywarden.transit.TransitEngine;
import dev.keywarden.transit.crypto.SignatureOptions;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The in-process transit path the gRPC service calls (keyring cache, nonce accounting, AEAD, `kw:v1:` base64 framing
 * into US-ASCII bytes) beside the bare JDK primitive it wraps, so the table shows what the engine costs on top of the cryptography. The raw baselines are meant
 * to be fair: a Cipher (or Signature) per thread, initialised once where the JDK allows it, and a per-thread DRBG for
 * the IVs, so they neither pay {@code getInstance} per call nor queue on the process-wide NativePRNG lock.
 *
 * <p>Two threads throughout: the targets assume two cores. On two cores the benchmark threads leave the JIT
 * little CPU, so warm-up gets more of the ~5 minute budget than measurement.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
@Threads(2)
public class TransitBenchmark {
  private static final String AES_KEY = "bench-aes";
  private static final String ECDSA_KEY = "bench-ecdsa-p256";
  private static final String ED25519_KEY = "bench-ed25519";
  private static final byte[] NO_CONTEXT = new byte[0];
  private static final int IV_LENGTH = 12;
  private static final int TAG_BITS = 128;

  /** An unsealed engine on a throw-away SQLite store and the software KEK, shared by both threads. */
  @State(Scope.Benchmark)
  public static class Engine {
    Path dir;
    Storage storage;
    Core core;
    TransitEngine transit;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      dir = Files.createTempDirectory("kw-bench-transit-");
      storage = SqliteStorage.open(dir);
      SecureRandom random = new SecureRandom();
      core = new Core(storage, new SoftwareHsmProvider(), random, 1000);
      InitResult init = core.initialize(1, 1, null, false, (tx, kek) -> "no-root-token"); // transit needs no tokens
      core.submitUnsealShare(init.shares().get(0));
      transit = new TransitEngine(core, Clock.systemUTC(), random);
      KeyringConfig plain = new KeyringConfig(false, false, false, 0, 1, 1);
      transit.createKey(AES_KEY, KeyType.AES256_GCM96, plain);
      transit.createKey(ECDSA_KEY, KeyType.ECDSA_P256, plain);
      transit.createKey(ED25519_KEY, KeyType.ED25519, plain);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
      core.shutdown();
      storage.close();
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** The plaintext size under test, with a ciphertext of it made by the engine and one made by the raw JDK. */
  @State(Scope.Benchmark)
  public static class Payload {
    @Param({"64", "1024", "16384"})
    public int size;

    byte[] plaintext;
    byte[] engineCiphertext;
    SecretKeySpec rawKey;
    byte[] rawCiphertext;

    @Setup(Level.Trial)
    public void setUp(Engine engine) throws GeneralSecurityException {
      SecureRandom random = new SecureRandom();
      plaintext = new byte[size];
      random.nextBytes(plaintext);
      engineCiphertext = engine.transit.encryptAscii(AES_KEY, plaintext, NO_CONTEXT);
      byte[] key = new byte[32];
      random.nextBytes(key);
      rawKey = new SecretKeySpec(key, "AES");
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      rawCiphertext = new byte[IV_LENGTH + size + TAG_BITS / 8];
      random.nextBytes(rawCiphertext);
      c.init(Cipher.ENCRYPT_MODE, rawKey, new GCMParameterSpec(TAG_BITS, rawCiphertext, 0, IV_LENGTH));
      c.doFinal(plaintext, 0, size, rawCiphertext, IV_LENGTH);
    }
  }

  /** One thread's JDK Cipher and IV source for the raw baseline. */
  @State(Scope.Thread)
  public static class RawAes {
    Cipher cipher;
    SecureRandom ivs;

    @Setup(Level.Trial)
    public void setUp() throws GeneralSecurityException {
      cipher = Cipher.getInstance("AES/GCM/NoPadding");
      ivs = SecureRandom.getInstance("DRBG");
    }
  }

  /** Signing keys and one thread's initialised Signature objects for the raw baselines; 64-byte input. */
  @State(Scope.Thread)
  public static class RawSign {
    final byte[] input = new byte[64];
    Signature jdkEcdsa;
    Signature bcEcdsa;
    Signature jdkEd25519;
    Signature bcEd25519;

    @Setup(Level.Trial)
    public void setUp() throws GeneralSecurityException {
      SecureRandom random = new SecureRandom();
      random.nextBytes(input);
      Provider bc = new BouncyCastleProvider();
      KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
      ec.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair p256 = ec.generateKeyPair();
      KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      jdkEcdsa = Signature.getInstance("SHA256withECDSA");
      jdkEcdsa.initSign(p256.getPrivate(), random);
      bcEcdsa = Signature.getInstance("SHA256withECDSA", bc);
      bcEcdsa.initSign(p256.getPrivate(), random);
      jdkEd25519 = Signature.getInstance("Ed25519");
      jdkEd25519.initSign(ed.getPrivate());
      bcEd25519 = Signature.getInstance("Ed25519", bc);
      bcEd25519.initSign(ed.getPrivate());
    }
  }

  // ---- AES-256-GCM: engine ----------------------------------------------------------------------------------------

  // The server's own calls: the ciphertext text as US-ASCII bytes, which go into the protobuf string field as they are.

  @Benchmark
  public byte[] encrypt(Engine e, Payload p) {
    return e.transit.encryptAscii(AES_KEY, p.plaintext, NO_CONTEXT);
  }

  @Benchmark
  public byte[] decrypt(Engine e, Payload p) {
    return e.transit.decryptAscii(AES_KEY, p.engineCiphertext, NO_CONTEXT);
  }

  @Benchmark
  public byte[] rewrap(Engine e, Payload p) {
    return e.transit.rewrapAscii(AES_KEY, p.engineCiphertext, NO_CONTEXT);
  }

  // ---- AES-256-GCM: raw JDK ---------------------------------------------------------------------------------------

  @Benchmark
  public byte[] rawJdkAesGcmEncrypt(Payload p, RawAes raw) throws GeneralSecurityException {
    byte[] iv = new byte[IV_LENGTH];
    raw.ivs.nextBytes(iv);
    byte[] out = new byte[IV_LENGTH + p.size + TAG_BITS / 8];
    System.arraycopy(iv, 0, out, 0, IV_LENGTH);
    raw.cipher.init(Cipher.ENCRYPT_MODE, p.rawKey, new GCMParameterSpec(TAG_BITS, iv));
    raw.cipher.doFinal(p.plaintext, 0, p.size, out, IV_LENGTH);
    return out;
  }

  @Benchmark
  public byte[] rawJdkAesGcmDecrypt(Payload p, RawAes raw) throws GeneralSecurityException {
    byte[] in = p.rawCiphertext;
    raw.cipher.init(Cipher.DECRYPT_MODE, p.rawKey, new GCMParameterSpec(TAG_BITS, in, 0, IV_LENGTH));
    return raw.cipher.doFinal(in, IV_LENGTH, in.length - IV_LENGTH);
  }

  // ---- signing, 64-byte input ---------------------------------------------------------------------------------------

  @Benchmark
  public TransitEngine.Signed signEcdsaP256(Engine e, RawSign s) {
    return e.transit.sign(ECDSA_KEY, s.input, SignatureOptions.defaults(), 0);
  }

  @Benchmark
  public byte[] rawJdkSha256WithEcdsa(RawSign s) throws GeneralSecurityException {
    s.jdkEcdsa.update(s.input);
    return s.jdkEcdsa.sign();
  }

  @Benchmark
  public byte[] rawBcSha256WithEcdsa(RawSign s) throws GeneralSecurityException {
    s.bcEcdsa.update(s.input);
    return s.bcEcdsa.sign();
  }

  @Benchmark
  public TransitEngine.Signed signEd25519(Engine e, RawSign s) {
    return e.transit.sign(ED25519_KEY, s.input, SignatureOptions.defaults(), 0);
  }

  @Benchmark
  public byte[] rawJdkEd25519(RawSign s) throws GeneralSecurityException {
    s.jdkEd25519.update(s.input);
    return s.jdkEd25519.sign();
  }

  @Benchmark
  public byte[] rawBcEd25519(RawSign s) throws GeneralSecurityException {
    s.bcEd25519.update(s.input);
    return s.bcEd25519.sign();
  }
}
