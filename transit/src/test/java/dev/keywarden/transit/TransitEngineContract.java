package dev.keywarden.transit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.transit.crypto.HashAlgorithm;
import dev.keywarden.transit.crypto.SignatureOptions;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The transit engine over real SQLite storage and each KEK provider. */
abstract class TransitEngineContract {
  @TempDir
  Path dir;

  Storage storage;
  Core core;
  TransitEngine transit;
  InitResult init;
  final SecureRandom random = new SecureRandom();

  abstract HsmProvider provider();

  abstract char[] pin();

  static final KeyringConfig PLAIN = new KeyringConfig(false, false, false, 0, 1, 1);

  @BeforeEach
  void start() {
    storage = SqliteStorage.open(dir);
    core = new Core(storage, provider(), random, 100);
    init = core.initialize(1, 1, pin(), false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    transit = new TransitEngine(core, Clock.systemUTC(), random);
  }

  @AfterEach
  void stop() {
    core.shutdown();
    storage.close();
  }

  void restart() {
    core.shutdown();
    storage.close();
    storage = SqliteStorage.open(dir);
    core = new Core(storage, provider(), random, 100);
    core.submitUnsealShare(init.shares().get(0));
    transit = new TransitEngine(core, Clock.systemUTC(), random);
  }

  static Kind kind(Runnable r) {
    return assertThrows(KeywardenException.class, r::run).kind();
  }

  @Test
  void aKeyringStoredByANewerServerWithFieldsThisOneDoesNotKnowStillServes() {
    transit.createKey("orders", KeyType.AES256_GCM96, PLAIN);
    String ct = transit.encrypt("orders", "hello".getBytes(UTF_8), null);
    String stored = new String(storage.get(TransitEngine.PREFIX + "orders").orElseThrow().value(), UTF_8);
    storage.put(TransitEngine.PREFIX + "orders",
        ("{\"future_setting\":{\"x\":1}," + stored.substring(1)).getBytes(UTF_8));
    restart();
    assertEquals("hello", new String(transit.decrypt("orders", ct, null), UTF_8));
    assertTrue(transit.encrypt("orders", "again".getBytes(UTF_8), null).startsWith("kw:v1:"));
  }

  @Test
  void encryptsAndDecryptsWithTheContextAsAssociatedData() {
    for (KeyType type : List.of(KeyType.AES256_GCM96, KeyType.CHACHA20_POLY1305)) {
      String name = "k-" + type.typeName();
      transit.createKey(name, type, PLAIN);
      String ct = transit.encrypt(name, "hello".getBytes(UTF_8), "order-1".getBytes(UTF_8));
      assertTrue(ct.startsWith("kw:v1:"), ct);
      assertEquals("hello", new String(transit.decrypt(name, ct, "order-1".getBytes(UTF_8)), UTF_8));
      assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.decrypt(name, ct, "order-2".getBytes(UTF_8))));
      assertEquals("", new String(transit.decrypt(name, transit.encrypt(name, new byte[0], null), null), UTF_8));
    }
  }

  @Test
  void rotationKeepsOldCiphertextDecryptableUntilTheMinimumMovesAndTrimDropsIt() {
    transit.createKey("orders", KeyType.AES256_GCM96, PLAIN);
    String v1 = transit.encrypt("orders", "one".getBytes(UTF_8), null);
    assertEquals(2, transit.rotate("orders").latestVersion());
    String v2 = transit.encrypt("orders", "two".getBytes(UTF_8), null);
    assertTrue(v2.startsWith("kw:v2:"));
    assertEquals("one", new String(transit.decrypt("orders", v1, null), UTF_8));
    String rewrapped = transit.rewrap("orders", v1, null);
    assertTrue(rewrapped.startsWith("kw:v2:"));
    assertEquals("one", new String(transit.decrypt("orders", rewrapped, null), UTF_8));

    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.updateConfig("orders",
        new TransitEngine.ConfigChange(3, null, null, null))));
    assertEquals(Kind.FAILED_PRECONDITION, kind(() -> transit.trim("orders")));
    transit.updateConfig("orders", new TransitEngine.ConfigChange(2, null, null, null));
    assertEquals(Kind.FAILED_PRECONDITION, kind(() -> transit.decrypt("orders", v1, null)));
    assertEquals(2, transit.trim("orders").oldestVersion());
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.updateConfig("orders",
        new TransitEngine.ConfigChange(1, null, null, null))), "trimmed versions cannot come back");
    restart();
    assertEquals("two", new String(transit.decrypt("orders", v2, null), UTF_8));
    assertEquals(Kind.FAILED_PRECONDITION, kind(() -> transit.decrypt("orders", v1, null)));
  }

  @Test
  void badInputGetsAClearStatus() {
    transit.createKey("k", KeyType.AES256_GCM96, PLAIN);
    transit.createKey("signer", KeyType.ED25519, PLAIN);
    assertEquals(Kind.ALREADY_EXISTS, kind(() -> transit.createKey("k", KeyType.AES256_GCM96, PLAIN)));
    assertEquals(Kind.NOT_FOUND, kind(() -> transit.encrypt("missing", new byte[1], null)));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.encrypt("bad name!", new byte[1], null)));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.encrypt("signer", new byte[1], null)));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.decrypt("k", "nonsense", null)));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.decrypt("k", "kw:vX:AAAA", null)));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.decrypt("k", "kw:v1:%%%", null)));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.decrypt("k", "kw:v9:AAAA", null)), "above latest");
    String ct = transit.encrypt("k", "x".getBytes(UTF_8), null);
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.decrypt("k", ct.substring(0, ct.length() - 4), null)),
        "truncated");
    KeywardenException big = assertThrows(KeywardenException.class,
        () -> transit.encrypt("k", new byte[TransitEngine.MAX_INPUT_BYTES + 1], null));
    assertTrue(big.getMessage().contains("limit is " + TransitEngine.MAX_INPUT_BYTES), big.getMessage());
    assertEquals(Kind.FAILED_PRECONDITION, kind(() -> transit.delete("k")), "deletion not allowed");
    transit.updateConfig("k", new TransitEngine.ConfigChange(null, null, true, null));
    transit.delete("k");
    assertEquals(Kind.NOT_FOUND, kind(() -> transit.decrypt("k", ct, null)));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.dataKey("signer", 256, null)));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.createKey("c", KeyType.AES256_GCM96,
        new KeyringConfig(false, true, false, 0, 1, 1))), "convergent needs derived");
  }

  @Test
  void derivedKeysNeedAContextAndConvergentOnesAreDeterministic() {
    transit.createKey("d", KeyType.AES256_GCM96, new KeyringConfig(true, false, false, 0, 1, 1));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.encrypt("d", new byte[1], null)));
    String a = transit.encrypt("d", "p".getBytes(UTF_8), "tenant-a".getBytes(UTF_8));
    assertEquals("p", new String(transit.decrypt("d", a, "tenant-a".getBytes(UTF_8)), UTF_8));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.decrypt("d", a, "tenant-b".getBytes(UTF_8))));

    transit.createKey("c", KeyType.CHACHA20_POLY1305, new KeyringConfig(true, true, false, 0, 1, 1));
    String c1 = transit.encrypt("c", "same".getBytes(UTF_8), "ctx".getBytes(UTF_8));
    assertEquals(c1, transit.encrypt("c", "same".getBytes(UTF_8), "ctx".getBytes(UTF_8)));
    assertNotEquals(c1, transit.encrypt("c", "other".getBytes(UTF_8), "ctx".getBytes(UTF_8)));
    assertNotEquals(c1, transit.encrypt("c", "same".getBytes(UTF_8), "ctx2".getBytes(UTF_8)));
    assertEquals("same", new String(transit.decrypt("c", c1, "ctx".getBytes(UTF_8)), UTF_8));
  }

  @Test
  void dataKeysDecryptToTheirPlaintext() {
    transit.createKey("k", KeyType.AES256_GCM96, PLAIN);
    for (int bits : new int[] {128, 256, 512}) {
      TransitEngine.DataKey key = transit.dataKey("k", bits, null);
      assertEquals(bits / 8, key.plaintext().length);
      assertArrayEquals(key.plaintext(), transit.decrypt("k", key.ciphertext(), null));
    }
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> transit.dataKey("k", 64, null)));
  }

  @Test
  void everySigningTypeSignsAndVerifiesAcrossRotation() {
    for (KeyType type : List.of(KeyType.ECDSA_P256, KeyType.ECDSA_P384, KeyType.ED25519, KeyType.RSA_2048)) {
      String name = "s-" + type.typeName();
      transit.createKey(name, type, PLAIN);
      byte[] msg = "message".getBytes(UTF_8);
      SignatureOptions o = SignatureOptions.defaults();
      TransitEngine.Signed s1 = transit.sign(name, msg, o, 0);
      assertTrue(transit.verify(name, msg, s1.signature(), o));
      assertFalse(transit.verify(name, "other".getBytes(UTF_8), s1.signature(), o));
      transit.rotate(name);
      TransitEngine.Signed s2 = transit.sign(name, msg, o, 0);
      assertEquals(2, s2.version());
      assertTrue(transit.verify(name, msg, s1.signature(), o), "old signatures still verify");
      assertTrue(transit.verify(name, msg, s2.signature(), o));
      assertNotNull(transit.getKey(name).version(2).publicKey());
    }
  }

  @Test
  void hmacsVerifyAndAreRefusedUnderAnotherVersion() {
    transit.createKey("m", KeyType.HMAC, PLAIN);
    String mac = transit.hmac("m", "data".getBytes(UTF_8), HashAlgorithm.SHA2_256, 0);
    assertTrue(transit.verifyHmac("m", "data".getBytes(UTF_8), mac, HashAlgorithm.SHA2_256));
    assertFalse(transit.verifyHmac("m", "datb".getBytes(UTF_8), mac, HashAlgorithm.SHA2_256));
    transit.rotate("m");
    assertFalse(transit.verifyHmac("m", "data".getBytes(UTF_8), mac.replace("kw:v1:", "kw:v2:"),
        HashAlgorithm.SHA2_256));
    assertTrue(transit.verifyHmac("m", "data".getBytes(UTF_8), mac, HashAlgorithm.SHA2_256));
  }

  @Test
  void storageHoldsKeyMaterialOnlyWrapped() throws Exception {
    List<byte[]> material = new ArrayList<>();
    for (KeyType type : List.of(KeyType.AES256_GCM96, KeyType.HMAC, KeyType.ED25519)) {
      transit.createKey("w-" + type.typeName(), type, PLAIN);
      transit.rotate("w-" + type.typeName());
      for (KeyVersion v : transit.getKey("w-" + type.typeName()).versions()) {
        material.add(core.unsealed().kek().unwrap(v.wrapped()));
      }
    }
    TransitEngine.DataKey dataKey = transit.dataKey("w-aes256-gcm96", 256, null);
    material.add(dataKey.plaintext());
    core.shutdown();
    storage.close();
    try (var files = java.nio.file.Files.walk(dir)) {
      for (Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
        byte[] content = java.nio.file.Files.readAllBytes(f);
        for (byte[] m : material) {
          byte[] probe = java.util.Arrays.copyOf(m, Math.min(16, m.length));
          assertFalse(indexOf(content, probe) >= 0, "unwrapped key material found in " + f.getFileName());
        }
      }
    }
    storage = SqliteStorage.open(dir);
    core = new Core(storage, provider(), random, 100);
  }

  static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void sealDropsTheCacheAndRefusesUntilUnsealed() {
    transit.createKey("k", KeyType.AES256_GCM96, PLAIN);
    String ct = transit.encrypt("k", "x".getBytes(UTF_8), null);
    core.seal();
    assertEquals(Kind.FAILED_PRECONDITION, kind(() -> transit.decrypt("k", ct, null)));
    core.submitUnsealShare(init.shares().get(0));
    assertEquals("x", new String(transit.decrypt("k", ct, null), UTF_8));
  }

  @Test
  void concurrentRotationsNeverLoseAVersionAndEveryCiphertextStaysDecryptable() throws Exception {
    transit.createKey("busy", KeyType.AES256_GCM96, PLAIN);
    Map<String, String> made = new ConcurrentHashMap<>();
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<?>> encryptors = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int id = t;
      encryptors.add(pool.submit(() -> {
        for (int i = 0; i < 3000 && (!stop.get() || i < 50); i++) {
          String plain = id + "-" + i;
          made.put(transit.encrypt("busy", plain.getBytes(UTF_8), null), plain);
        }
        return null;
      }));
    }
    List<Future<Integer>> rotations = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      rotations.add(pool.submit(() -> {
        int last = 0;
        for (int i = 0; i < 5; i++) {
          last = transit.rotate("busy").latestVersion();
        }
        return last;
      }));
    }
    for (Future<Integer> f : rotations) {
      f.get(60, TimeUnit.SECONDS);
    }
    stop.set(true);
    for (Future<?> f : encryptors) {
      f.get(60, TimeUnit.SECONDS);
    }
    pool.shutdown();
    Keyring k = transit.getKey("busy");
    assertEquals(21, k.latestVersion(), "20 concurrent rotations made 20 distinct versions");
    List<Integer> versions = new ArrayList<>(k.versions().stream().map(KeyVersion::version).toList());
    Collections.sort(versions);
    for (int v = 1; v <= 21; v++) {
      assertEquals(v, versions.get(v - 1));
    }
    restart();
    for (Map.Entry<String, String> e : made.entrySet()) {
      assertEquals(e.getValue(), new String(transit.decrypt("busy", e.getKey(), null), UTF_8));
    }
    assertTrue(made.size() > 200);
  }

  @Test
  void aVersionRotatesBeforeItUsesUpItsRandomNonces() {
    transit = new TransitEngine(core, Clock.systemUTC(), random, 10, 30);
    transit.createKey("n", KeyType.AES256_GCM96, PLAIN);
    List<String> cts = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      cts.add(transit.encrypt("n", new byte[] {(byte) i}, null));
    }
    Keyring k = transit.getKey("n");
    assertTrue(k.latestVersion() >= 3, "rotated after ~30 encryptions per version, got " + k.latestVersion());
    assertTrue(k.version(1).encryptionsReserved() >= 30);
    for (int i = 0; i < 100; i++) {
      assertEquals(i, transit.decrypt("n", cts.get(i), null)[0]);
    }
    // A restart never resets the count: the reservation is in storage.
    restart();
    transit = new TransitEngine(core, Clock.systemUTC(), random, 10, 30);
    int latest = transit.getKey("n").latestVersion();
    long before = transit.getKey("n").version(latest).encryptionsReserved();
    assertTrue(before > 0, "the count survived the restart");
    transit.encrypt("n", new byte[1], null);
    assertEquals(before + 10, transit.getKey("n").version(latest).encryptionsReserved(),
        "after a restart the version reserves a fresh block on top of what was counted");
  }

  @Test
  void aChangeMadeByAnotherServerReachesThisOnesCachedKeyring() {
    // a second engine over the same store stands for another server sharing it
    TransitEngine elsewhere = new TransitEngine(core, Clock.systemUTC(), random);
    transit.createKey("shared", KeyType.AES256_GCM96, new KeyringConfig(false, false, true, 0, 1, 1));
    String v1 = transit.encrypt("shared", "a".getBytes(UTF_8), null); // cached here, with its nonce allowance
    assertTrue(v1.startsWith("kw:v1:"), v1);
    elsewhere.rotate("shared");
    String v2 = transit.encrypt("shared", "b".getBytes(UTF_8), null);
    assertTrue(v2.startsWith("kw:v2:"), "still encrypting with the old version after a rotation elsewhere: " + v2);
    assertEquals("a", new String(elsewhere.decrypt("shared", v1, null), UTF_8));
    assertEquals("b", new String(elsewhere.decrypt("shared", v2, null), UTF_8));
    // another server's encryptions (and its nonce reservations) cost this one no reservation of its own
    long reservedBefore = transit.getKey("shared").version(2).encryptionsReserved();
    for (int i = 0; i < 50; i++) {
      elsewhere.encrypt("shared", "c".getBytes(UTF_8), null);
      transit.encrypt("shared", "d".getBytes(UTF_8), null);
    }
    assertTrue(transit.getKey("shared").version(2).encryptionsReserved() - reservedBefore <= 2L * NONCE_BLOCK_ANY,
        "reservations ping-pong between servers");
    elsewhere.delete("shared");
    assertEquals(Kind.NOT_FOUND, kind(() -> transit.encrypt("shared", "e".getBytes(UTF_8), null)));
  }

  /** One block per server at most in the test above (each reserves ahead once). */
  private static final long NONCE_BLOCK_ANY = TransitEngine.NONCE_BLOCK;
}
