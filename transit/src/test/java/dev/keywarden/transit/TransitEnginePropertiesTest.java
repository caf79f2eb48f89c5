package dev.keywarden.transit;

import static dev.keywarden.testing.Generators.byteFlips;
import static dev.keywarden.testing.Generators.bytes;
import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** Invariants of the engine's ciphertexts, through the same path the service uses. */
class TransitEnginePropertiesTest {
  private static Path dir;
  private static Storage storage;
  private static Core core;
  private static TransitEngine transit;
  private static final MutableClock CLOCK = new MutableClock();

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("kw-transit-props");
    storage = SqliteStorage.open(dir);
    SecureRandom random = new SecureRandom();
    core = new Core(storage, new SoftwareHsmProvider(), random, 100);
    InitResult init = core.initialize(1, 1, null, false, (tx, kek) -> "root");
    core.submitUnsealShare(init.shares().get(0));
    transit = new TransitEngine(core, CLOCK, random);
    for (KeyType t : new KeyType[] {KeyType.AES256_GCM96, KeyType.CHACHA20_POLY1305}) {
      transit.createKey(t.typeName(), t, new KeyringConfig(false, false, false, 0, 1, 1));
      transit.createKey(t.typeName() + "-derived", t, new KeyringConfig(true, false, false, 0, 1, 1));
    }
  }

  @AfterAll
  static void stop() {
    core.shutdown();
    storage.close();
  }

  private static Gen<String> keys() {
    return Generate.pick(List.of("aes256-gcm96", "chacha20-poly1305", "aes256-gcm96-derived",
        "chacha20-poly1305-derived"));
  }

  @Test
  void decryptOfEncryptIsTheIdentity() {
    qt().withExamples(300).forAll(keys(), bytes(0, 4096), bytes(1, 256)).checkAssert((key, plaintext, context) -> {
      String ct = transit.encrypt(key, plaintext, context);
      assertArrayEquals(plaintext, transit.decrypt(key, ct, context));
    });
  }

  @Test
  void anyChangedByteOfTheCiphertextIsRefused() {
    qt().withExamples(300).forAll(keys(), bytes(0, 512), byteFlips(100_000)).checkAssert((key, plaintext, change) -> {
      byte[] context = {1, 2, 3};
      String ct = transit.encrypt(key, plaintext, context);
      int colon = ct.indexOf(':', 4);
      byte[] body = Base64.getDecoder().decode(ct.substring(colon + 1));
      body[change.where() % body.length] ^= (byte) change.flip();
      String altered = ct.substring(0, colon + 1) + Base64.getEncoder().encodeToString(body);
      KeywardenException e = assertThrows(KeywardenException.class, () -> transit.decrypt(key, altered, context));
      assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    });
  }

  @Test
  void anyChangedByteOfTheContextIsRefused() {
    qt().withExamples(300).forAll(keys(), bytes(0, 512), bytes(1, 64), byteFlips(1000))
        .checkAssert((key, plaintext, context, change) -> {
          String ct = transit.encrypt(key, plaintext, context);
          byte[] other = context.clone();
          other[change.where() % other.length] ^= (byte) change.flip();
          assertThrows(KeywardenException.class, () -> transit.decrypt(key, ct, other));
        });
  }

  @Test
  void autoRotationRotatesOnlyKeysWhoseLatestVersionIsOldEnough() {
    transit.createKey("hourly", KeyType.AES256_GCM96, new KeyringConfig(false, false, false, 3600, 1, 1));
    transit.createKey("never", KeyType.AES256_GCM96, new KeyringConfig(false, false, false, 0, 1, 1));
    CLOCK.advance(Duration.ofMinutes(59));
    transit.rotateDue();
    assertEquals(1, transit.getKey("hourly").latestVersion());
    CLOCK.advance(Duration.ofMinutes(1));
    transit.rotateDue();
    assertEquals(2, transit.getKey("hourly").latestVersion());
    assertEquals(1, transit.getKey("never").latestVersion());
    transit.rotateDue();
    assertEquals(2, transit.getKey("hourly").latestVersion(), "the new version is not due yet");
  }

  static final class MutableClock extends Clock {
    private volatile Instant now = Instant.parse("2026-11-23T10:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
