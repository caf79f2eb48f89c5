package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.hsm.KeyType;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rotation: the old key stays published (trusted keys, known_hosts, KRL) until what it signed expires. */
class SshCaRotationTest {
  @TempDir static Path dir;
  static SshFixture f;
  static final MutableClock clock = MutableClock.stoppedAt(Instant.parse("2030-03-01T10:00:00Z"));

  @BeforeAll
  static void setUp() throws Exception {
    f = new SshFixture(dir, clock);
  }

  @AfterAll
  static void tearDown() {
    f.close();
  }

  @Test
  void rotationKeepsTheOldKeyPublishedUntilItsCertificatesExpireThenTidyDestroysIt() throws Exception {
    SshEngine ssh = f.engine;
    ssh.createCa("rot", null, Optional.of(CertType.USER));
    ssh.writeRole(SshRole.builder("r", CertType.USER).allowedPrincipals("*").ttl(Duration.ofMinutes(90)).build());
    String key = f.ssh.newKey("u", "ed25519", 0);
    SshIdentity who = new SshIdentity("bob", Map.of());
    SignedSshCertificate old = ssh.sign("r", who, new SignRequest(key, List.of("bob"), Optional.empty(),
        Optional.empty(), null, null, Optional.empty()));
    SshCaKey first = ssh.ca("rot").signer();
    int keysBefore = count(f.privateKeysOnToken());

    SshCaInfo rotated = ssh.rotateCa("rot", Optional.of(KeyType.EC_P384));
    assertEquals(2, rotated.keys().size());
    SshCaKey second = rotated.signer();
    assertEquals(KeyType.EC_P384, second.keyType());
    assertNull(second.retiredAt());
    assertEquals(first.id(), rotated.keys().get(1).id());
    assertEquals(clock.instant(), rotated.keys().get(1).retiredAt());
    // 10:00 + 90 min, rounded up to the hour
    assertEquals(Instant.parse("2030-03-01T12:00:00Z"), rotated.keys().get(1).signedUntil());

    String trusted = ssh.trustedUserCaKeys("rot");
    List<String> lines = trusted.lines().toList();
    assertEquals(2, lines.size(), trusted);
    assertTrue(lines.get(0).startsWith("ecdsa-sha2-nistp384 ") && lines.get(1).startsWith("ssh-ed25519 "), trusted);
    assertEquals(2, ssh.knownHosts("rot", null).lines().filter(l -> l.startsWith("@cert-authority * ")).count());

    SignedSshCertificate fresh = ssh.sign("r", who, new SignRequest(key, List.of("bob"), Optional.empty(),
        Optional.empty(), null, null, Optional.empty()));
    f.ssh.write("fresh-cert.pub", fresh.certificate() + "\n");
    assertTrue(f.ssh.keygenOk("-L", "-f", "fresh-cert.pub").contains(second.fingerprint()));

    // A certificate of the old key is revoked under the old key's section of the KRL.
    ssh.revoke(old.serial());
    f.ssh.write("rot.krl", ssh.krl("rot"));
    f.ssh.write("old-cert.pub", old.certificate() + "\n");
    assertTrue(f.ssh.keygen("-Q", "-f", "rot.krl", "old-cert.pub").out().contains("REVOKED"));
    assertTrue(f.ssh.keygenOk("-Q", "-f", "rot.krl", "fresh-cert.pub").contains(": ok"));

    // Nothing is removed while the old key's certificates may be valid.
    Tidied early = ssh.tidy(clock.instant());
    assertEquals(List.of(), early.caKeysRemoved());

    clock.advance(Duration.ofHours(2).plusSeconds(1)); // past 12:00
    assertEquals(1, ssh.trustedUserCaKeys("rot").lines().count(), "no longer published");
    Tidied later = ssh.tidy(clock.instant());
    assertEquals(List.of("rot/" + first.id()), later.caKeysRemoved());
    assertEquals(2, later.certificates(), "both certificates expired");
    assertEquals(1, later.revocations());
    assertEquals(keysBefore, count(f.privateKeysOnToken()), "the old key destroyed, the new one made");
    assertFalse(f.privateKeysOnToken().contains(first.id()));
    assertEquals(1, ssh.ca("rot").keys().size());
    f.ssh.write("rot2.krl", ssh.krl("rot"));
    assertFalse(f.ssh.keygenOk("-Q", "-l", "-f", "rot2.krl").contains("serial:"));

    // The state survives a restart (a new engine over the same storage and token).
    f.restart();
    assertEquals(second.id(), f.engine.ca("rot").signer().id());
  }

  private static int count(String pkcs11List) {
    return (int) pkcs11List.lines().filter(l -> l.startsWith("Private Key Object")).count();
  }
}
