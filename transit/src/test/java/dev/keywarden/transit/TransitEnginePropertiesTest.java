package dev.keywarden.transit;

import static org.junit.jupiter.api.Assertions.*;

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
import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/** Invariants of the engine's ciphertexts, through the same path the service uses. */
class TransitEnginePropertiesTest {
  private static Path dir;
  private static Storage storage;
  private static Core core;
  private static TransitEngine transit;
  private static final MutableClock CLOCK = new MutableClock();

  @BeforeContainer
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

  @AfterContainer
  static void stop() {
    core.shutdown();
    storage.close();
  }

  @Provide
  Arbitrary<String> keys() {
    return Arbitraries.of("aes256-gcm96", "chacha20-poly1305", "aes256-gcm96-derived", "chacha20-poly1305-derived");
  }

  @Property(tries = 300)
  void decryptOfEncryptIsTheIdentity(@ForAll("keys") String key, @ForAll @Size(max = 4096) byte[] plaintext,
      @ForAll @Size(min = 1, max = 256) byte[] context) {
    String ct = transit.encrypt(key, plaintext, context);
    assertArrayEquals(plaintext, transit.decrypt(key, ct, context));
  }

  @Property(tries = 300)
  void anyChangedByteOfTheCiphertextIsRefused(@ForAll("keys") String key, @ForAll @Size(max = 512) byte[] plaintext,
      @ForAll @IntRange(min = 0, max = 100_000) int where, @ForAll @IntRange(min = 1, max = 255) int flip) {
    byte[] context = {1, 2, 3};
    String ct = transit.encrypt(key, plaintext, context);
    int colon = ct.indexOf(':', 4);
    byte[] body = Base64.getDecoder().decode(ct.substring(colon + 1));
    body[where % body.length] ^= (byte) flip;
    String altered = ct.substring(0, colon + 1) + Base64.getEncoder().encodeToString(body);
    KeywardenException e = assertThrows(KeywardenException.class, () -> transit.decrypt(key, altered, context));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
  }

  @Property(tries = 300)
  void anyChangedByteOfTheContextIsRefused(@ForAll("keys") String key, @ForAll @Size(max = 512) byte[] plaintext,
      @ForAll @Size(min = 1, max = 64) byte[] context, @ForAll @IntRange(min = 0, max = 1000) int where,
      @ForAll @IntRange(min = 1, max = 255) int flip) {
    String ct = transit.encrypt(key, plaintext, context);
    byte[] other = context.clone();
    other[where % other.length] ^= (byte) flip;
    assertThrows(KeywardenException.class, () -> transit.decrypt(key, ct, other));
  }

  @Example
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
