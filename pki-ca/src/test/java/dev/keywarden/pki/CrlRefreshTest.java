package dev.keywarden.pki;

import static dev.keywarden.pki.PkiFixture.crlNumber;
import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.cert.X509CRLHolder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link PkiEngine#refreshCrls}: CRLs rebuilt before they go stale, not only when someone asks for one. */
class CrlRefreshTest {
  @TempDir
  Path dir;

  MutableClock clock;
  PkiFixture f;
  PkiEngine pki;

  @BeforeEach
  void start() throws Exception {
    clock = MutableClock.stoppedAt(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    f = new PkiFixture(dir, clock);
    pki = f.pki;
  }

  @AfterEach
  void stop() {
    f.close();
  }

  static Instant nextUpdate(byte[] crl) throws Exception {
    return new X509CRLHolder(crl).getNextUpdate().toInstant();
  }

  @Test
  void refreshRebuildsOnlyCrlsPastHalfTheirLifeWithAHigherNumberAndALaterNextUpdate() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    assertEquals(List.of(root.id()), pki.refreshCrls(), "an issuer without a CRL gets one");
    byte[] first = pki.crl(root.id());
    assertEquals(clock.instant().plus(PkiEngine.CRL_LIFETIME), nextUpdate(first));

    clock.advance(Duration.ofHours(5));
    assertEquals(List.of(), pki.refreshCrls(), "less than half its life is gone");
    assertArrayEquals(first, pki.crl(root.id()));

    clock.advance(Duration.ofHours(1).plusSeconds(1));
    assertEquals(List.of(root.id()), pki.refreshCrls());
    byte[] second = pki.crl(root.id());
    assertTrue(crlNumber(second) > crlNumber(first));
    assertEquals(clock.instant().plus(PkiEngine.CRL_LIFETIME), nextUpdate(second), "nextUpdate moves");
    assertEquals(List.of(), pki.refreshCrls());
  }

  @Test
  void refreshKeepsRetiredIssuersPublishingAndSkipsPendingOnes() throws Exception {
    IssuerInfo old = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    IssuerInfo next = pki.rotateIssuer(old.id(), Optional.empty());
    IssuerInfo pending = pki.generateExternalIntermediate("External", KeyType.EC_P256, Optional.empty(), false);
    assertEquals(List.of(old.id(), next.id()).stream().sorted().toList(), pki.refreshCrls().stream().sorted()
        .toList());
    long before = crlNumber(pki.crl(old.id()));
    clock.advance(Duration.ofHours(7));
    List<String> rebuilt = pki.refreshCrls();
    assertTrue(rebuilt.contains(old.id()) && rebuilt.contains(next.id()), rebuilt.toString());
    assertFalse(rebuilt.contains(pending.id()));
    assertTrue(crlNumber(pki.crl(old.id())) > before);
  }

  @Test
  void anIssuerWhoseKeyIsGoneDoesNotStopTheOthersCrls() throws Exception {
    IssuerInfo broken = pki.generateRoot("Broken", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    IssuerInfo fine = pki.generateRoot("Fine", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    String json = new String(f.storage.get(PkiEngine.ISSUERS + broken.id()).orElseThrow().value());
    f.core.unsealed().hsm().destroyKey(new HsmKeyId(json.replaceAll(".*\"hsm_label\":\"([^\"]+)\".*", "$1"),
        json.replaceAll(".*\"hsm_id\":\"([^\"]+)\".*", "$1")));
    assertEquals(List.of(fine.id()), pki.refreshCrls());
  }

  @Test
  void aRestartServesTheStoredCrlRatherThanANewNumber() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    byte[] crl = pki.crl(root.id());
    f.restart();
    pki = f.pki;
    assertArrayEquals(crl, pki.crl(root.id()));
    assertEquals(List.of(), pki.refreshCrls());
    f.core.seal();
    assertEquals(List.of(), pki.refreshCrls(), "nothing while sealed, and no exception");
  }

  @Test
  void aRevocationByAnotherServerIsInTheCrlServedHere() throws Exception {
    IssuerInfo root = pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(30), Optional.empty());
    pki.writeRole(Role.fromJson("{\"name\":\"web\",\"allowed_domains\":[\"example.com\"],"
        + "\"allow_subdomains\":true,\"server_flag\":true,\"ttl\":\"1h\",\"max_ttl\":\"1h\"}"));
    IssuedWithKey issued = pki.issue("web", new RequestedNames(Optional.of("a.example.com"),
        List.of("a.example.com"), List.of(), List.of()), Optional.empty(), Optional.empty());
    byte[] before = pki.crl(root.id()); // cached here
    // a second engine over the same store stands for another server sharing it
    PkiEngine elsewhere = new PkiEngine(f.core, clock, f.random);
    elsewhere.revoke(issued.certificate().serialHex(), 1);
    X509CRLHolder now = new X509CRLHolder(pki.crl(root.id()));
    assertTrue(now.getRevokedCertificate(new java.math.BigInteger(issued.certificate().serialHex(), 16)) != null,
        "the CRL served here misses a revocation made by another server");
    assertTrue(crlNumber(pki.crl(root.id())) > crlNumber(before));
  }
}
