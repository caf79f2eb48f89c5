package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.keywarden.ssh.SshKeyIdIndexTest.BeforeNextTransaction;
import dev.keywarden.ssh.SshRecords.RevokedKeyId;
import dev.keywarden.ssh.SshRecords.StoredCert;
import dev.keywarden.storage.testing.ReadRecordingStorage;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tidy finds expired certificates, revocations and revoked key ids through the expiry index, reads no unexpired
 * certificate, and removes them a bounded page per transaction; a store from before the index is indexed once.
 */
class SshTidyTest {
  static final SshIdentity BOB = new SshIdentity("bob", Map.of());

  @TempDir Path dir;
  final MutableClock clock = MutableClock.stoppedAt(Instant.parse("2030-03-01T10:00:00Z"));
  SshFixture f;
  String publicKey;
  /** Runs a change, as another server would, just before the engine's next transaction. */
  BeforeNextTransaction otherServer;

  @BeforeEach
  void setUp() throws Exception {
    f = new SshFixture(dir, clock, s -> new ReadRecordingStorage(otherServer = new BeforeNextTransaction(s)));
    publicKey = f.ssh.newKey("u", "ed25519", 0);
    f.engine.writeRole(SshRole.builder("any", CertType.USER).allowedPrincipals("*").allowUserKeyIds(true)
        .ttl(Duration.ofHours(1)).maxTtl(Duration.ofDays(1)).build());
    f.engine.createCa("t", null, Optional.empty());
  }

  @AfterEach
  void tearDown() {
    f.close();
  }

  @Test
  void tidyRemovesExactlyTheExpiredCertificatesWithTheirEntriesAndReadsNoOther() {
    List<String> expired = new ArrayList<>();
    List<String> valid = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      expired.add(sign("short-" + i, Duration.ofMinutes(30)));
      valid.add(sign("hour-" + i, Duration.ofHours(1)));
      valid.add(sign("long-" + i, Duration.ofHours(2)));
    }
    f.engine.revoke(expired.get(0));
    f.engine.revoke(valid.get(1));
    f.engine.tidy(clock.instant()); // nothing due; the first tidy also checks the store is indexed
    clock.advance(Duration.ofMinutes(45));
    recorder().reads.clear();

    Tidied t = f.engine.tidy(clock.instant());
    Set<String> read = certificatesRead();
    List<String> listings = recorder().reads.stream().filter(r -> r.contains("[") || r.endsWith("/")).toList();

    assertEquals(3, t.certificates());
    assertEquals(1, t.revocations());
    assertEquals(sorted(valid.stream().map(s -> SshRecords.CERTS + s).toList()), f.storage.list(SshRecords.CERTS));
    assertEquals(sorted(valid), serialsIn(f.storage.list(SshRecords.BY_KEY_ID)), "key id entries of what is left");
    assertEquals(sorted(valid), serialsIn(f.storage.list(SshRecords.CERT_EXPIRY)), "expiry entries of what is left");
    assertEquals(List.of(SshRecords.revoked("t", f.engine.certificate(valid.get(1)).caKeyId(), valid.get(1))),
        f.storage.list(SshRecords.REVOKED));
    assertEquals(sorted(expired.stream().map(s -> SshRecords.CERTS + s).toList()),
        List.copyOf(read), "only the expired certificates are read");
    assertTrue(listings.stream().allMatch(r -> r.startsWith(SshRecords.EXPIRY) || r.equals(SshRecords.CAS)),
        "nothing but the expiry index and the CAs is listed: " + listings);
  }

  @Test
  void tidyRemovesAPageOfCertificatesPerTransaction() {
    long now = clock.instant().getEpochSecond();
    int due = 2 * SshEngine.INDEX_PAGE + 7;
    f.storage.put(SshRecords.INDEXED, new byte[0]);
    List<StoredCert> certs = new ArrayList<>();
    for (int i = 1; i <= due + 3; i++) {
      certs.add(cert(i, i <= due ? now - 1 - i % 100 : now + i));
    }
    storeDirectly(certs);
    ReadRecordingStorage reads = recorder();
    reads.reads.clear();
    int before = reads.transactionWrites.size();

    Tidied t = f.engine.tidy(clock.instant());

    assertEquals(due, t.certificates());
    assertEquals(3, f.storage.list(SshRecords.CERTS).size());
    assertEquals(3, f.storage.list(SshRecords.CERT_EXPIRY).size());
    List<Integer> writes = reads.transactionWrites.subList(before, reads.transactionWrites.size());
    assertTrue(writes.stream().allMatch(w -> w <= 5 * SshEngine.INDEX_PAGE), "bounded transactions: " + writes);
    assertTrue(writes.stream().filter(w -> w > 0).count() >= 3, "three pages, a transaction each: " + writes);
    assertEquals(3, reads.reads.stream().filter(r -> r.startsWith(SshRecords.CERT_EXPIRY + "[")).count(),
        "the expired range is read a page at a time: " + reads.reads.stream()
            .filter(r -> r.startsWith(SshRecords.EXPIRY)).toList());
  }

  /** Whatever the expiry times, tidy removes the certificates expired before now (and their entries), no other. */
  @Test
  void tidyRemovesTheCertificatesExpiredBeforeNowAndNoOthers() {
    f.storage.put(SshRecords.INDEXED, new byte[0]);
    long[] serial = {1};
    qt().withExamples(40).forAll(lists().of(integers().between(-3, 3)).ofSizeBetween(0, 12), integers().between(0, 2))
        .checkAssert((offsets, revokedEvery) -> {
          long now = clock.instant().getEpochSecond();
          List<StoredCert> certs = new ArrayList<>();
          for (int offset : offsets) {
            certs.add(cert(serial[0]++, now + offset));
          }
          storeDirectly(certs);
          for (int i = 0; revokedEvery > 0 && i < certs.size(); i += revokedEvery + 1) {
            f.engine.revoke(certs.get(i).serial());
          }
          Tidied t = f.engine.tidy(clock.instant());
          List<String> left = sorted(certs.stream().filter(c -> c.validBefore() >= now).map(StoredCert::serial)
              .toList());
          assertEquals(certs.size() - left.size(), t.certificates());
          assertEquals(left, serialsIn(f.storage.list(SshRecords.CERTS)));
          assertEquals(left, serialsIn(f.storage.list(SshRecords.BY_KEY_ID)));
          assertEquals(left, serialsIn(f.storage.list(SshRecords.CERT_EXPIRY)));
          assertTrue(serialsIn(f.storage.list(SshRecords.REVOKED)).stream().allMatch(left::contains));
          f.engine.tidy(clock.instant().plusSeconds(10)); // empty for the next example
          assertEquals(List.of(), f.storage.list(SshRecords.CERTS));
          assertEquals(List.of(), f.storage.list(SshRecords.REVOKED));
        });
  }

  /** Key order is expiry order, whatever the digits, and the time reads back. */
  @Test
  void expiryEntriesSortByTime() {
    qt().forAll(longs().between(0, Long.MAX_VALUE), longs().between(0, Long.MAX_VALUE)).checkAssert((a, b) -> {
      String ka = SshRecords.certExpiry(cert(7, a));
      String kb = SshRecords.certExpiry(cert(7, b));
      assertEquals(Long.signum(Long.compare(a, b)), Integer.signum(ka.compareTo(kb)), a + " vs " + b);
      assertEquals(a, SshRecords.expiryTime(SshRecords.CERT_EXPIRY, ka));
      assertEquals(List.of("t", "k1", "7"), List.of(SshRecords.expiryNames(SshRecords.CERT_EXPIRY, ka)));
    });
  }

  @Test
  void aStoreWrittenWithoutTheIndexIsIndexedOnceThenTidiedThroughIt() throws Exception {
    String shortLived = sign("a", Duration.ofMinutes(30));
    String longLived = sign("b", Duration.ofHours(2));
    String orphan = sign("c", Duration.ofMinutes(30));
    f.engine.revoke(shortLived);
    f.engine.revoke(orphan);
    f.engine.revokeKeyId("t", "gone");
    long until = f.storage.entries(SshRecords.REVOKED_IDS, "", 10).stream()
        .map(e -> SshRecords.read(e.value(), RevokedKeyId.class).until()).findFirst().orElseThrow();
    String orphanRevocation = SshRecords.revoked("t", f.engine.certificate(orphan).caKeyId(), orphan);
    SshKeyIdIndexTest.writtenByThePreviousVersion(f.storage);
    // a revocation whose certificate is gone (left by a server of an older version): it expires with its own time
    f.storage.delete(SshRecords.CERTS + orphan);
    f.restart();

    assertEquals(0, f.engine.tidy(clock.instant()).certificates());
    assertTrue(f.storage.get(SshRecords.INDEXED).isPresent());
    assertEquals(sorted(List.of(shortLived, longLived, orphan)), serialsIn(f.storage.list(SshRecords.CERT_EXPIRY)));
    assertEquals(1, f.storage.list(SshRecords.REVOKED_ID_EXPIRY).size());
    assertEquals(sorted(List.of(shortLived, longLived)), serialsIn(f.storage.list(SshRecords.BY_KEY_ID)));

    // indexed once: no certificate, revocation or revoked key id is read by the next tidy
    recorder().reads.clear();
    f.engine.tidy(clock.instant());
    assertEquals(Set.of(), certificatesRead());
    assertTrue(recorder().reads.stream().noneMatch(r -> r.startsWith(SshRecords.REVOKED)), recorder().reads.toString());
    f.restart();
    recorder().reads.clear();
    f.engine.tidy(clock.instant());
    assertEquals(Set.of(), certificatesRead(), "the marker is read, not the certificates");
    List<String> entries = f.storage.list(SshRecords.EXPIRY);
    f.engine.tidy(clock.instant(), true);
    assertEquals(entries, f.storage.list(SshRecords.EXPIRY), "reindexing an indexed store changes no entry");

    clock.advance(Duration.ofMinutes(45));
    Tidied t = f.engine.tidy(clock.instant());
    assertEquals(1, t.certificates());
    assertEquals(2, t.revocations(), "the short certificate's and the orphan's");
    assertEquals(List.of(), f.storage.list(SshRecords.REVOKED));
    assertFalse(f.storage.get(orphanRevocation).isPresent());
    assertEquals(List.of(longLived), serialsIn(f.storage.list(SshRecords.CERTS)));

    advanceTo(until + 1);
    t = f.engine.tidy(clock.instant());
    assertEquals(1, t.certificates());
    assertEquals(1, t.revocations(), "the revoked key id");
    assertEquals(List.of(), f.storage.list(SshRecords.REVOKED_IDS));
    assertEquals(List.of(), f.storage.list(SshRecords.EXPIRY));
    assertEquals(List.of(), f.storage.list(SshRecords.BY_KEY_ID));
  }

  @Test
  void aCertificateRemovedByAnotherServerBetweenTheIndexReadAndTheTransactionIsSkipped() {
    String gone = sign("a", Duration.ofMinutes(30));
    String kept = sign("b", Duration.ofMinutes(30));
    f.engine.revoke(gone);
    String revocation = SshRecords.revoked("t", f.engine.certificate(gone).caKeyId(), gone);
    f.engine.tidy(clock.instant());
    clock.advance(Duration.ofMinutes(45));
    // a server of the previous version tidies one away (certificate and revocation, not the index entries) just
    // after this one has read the expired range
    otherServer.before(() -> otherServer.delegate().atomically(ops -> {
      ops.delete(SshRecords.CERTS + gone);
      ops.delete(revocation);
      return null;
    }));

    Tidied t = f.engine.tidy(clock.instant());

    assertEquals(1, t.certificates(), "only the one this tidy removed");
    assertEquals(0, t.revocations());
    assertEquals(List.of(), f.storage.list(SshRecords.CERTS));
    assertEquals(List.of(), f.storage.list(SshRecords.CERT_EXPIRY), "no entry outlives its certificate");
    assertFalse(f.storage.list(SshRecords.BY_KEY_ID).stream().anyMatch(e -> e.endsWith("/" + kept)));
  }

  @Test
  void aRevokedKeyIdKeepsOneExpiryEntryThatMovesWithItsUntil() {
    sign("k", Duration.ofHours(1));
    f.engine.revokeKeyId("t", "k");
    long first = revokedUntil();
    assertEquals(List.of(first), expiryTimes(SshRecords.REVOKED_ID_EXPIRY));

    sign("other", Duration.ofHours(5)); // the CA has signed for longer: revoking again keeps k revoked longer
    f.engine.revokeKeyId("t", "k");
    long second = revokedUntil();
    assertTrue(second > first);
    assertEquals(List.of(second), expiryTimes(SshRecords.REVOKED_ID_EXPIRY));

    advanceTo(first + 1);
    recorder().reads.clear();
    f.engine.tidy(clock.instant()); // removes the certificate with key id k (and the revocation marking it)
    assertTrue(recorder().reads.stream().noneMatch(r -> r.startsWith(SshRecords.REVOKED_IDS)),
        "a revoked key id that has not expired is not read: " + recorder().reads);
    assertTrue(f.storage.get(SshRecords.revokedId("t", "k")).isPresent());

    advanceTo(second + 1);
    assertEquals(1, f.engine.tidy(clock.instant()).revocations());
    assertEquals(List.of(), f.storage.list(SshRecords.REVOKED_IDS));
    assertEquals(List.of(), f.storage.list(SshRecords.REVOKED_ID_EXPIRY));
  }

  private String sign(String keyId, Duration ttl) {
    return f.engine.sign("any", BOB, new SignRequest(publicKey, List.of("bob"), Optional.of(ttl),
        Optional.of(keyId), null, null, Optional.of("t"))).serial();
  }

  private static StoredCert cert(long serial, long validBefore) {
    return new StoredCert(Long.toString(serial), "t", "k1", "id-" + serial, CertType.USER, List.of("bob"), 0,
        validBefore, "ssh-ed25519-cert-v01@openssh.com AAAA", 0, true, true);
  }

  /** Stores certificates as signing does (record, key id entry, expiry entry), without signing them. */
  private void storeDirectly(List<StoredCert> certs) {
    f.storage.atomically(ops -> {
      for (StoredCert c : certs) {
        ops.put(SshRecords.CERTS + c.serial(), SshRecords.json(c));
        ops.put(SshRecords.byKeyId(c), new byte[0]);
        ops.put(SshRecords.certExpiry(c), new byte[0]);
      }
      return null;
    });
  }

  private void advanceTo(long epochSecond) {
    clock.advance(Duration.ofSeconds(epochSecond - clock.instant().getEpochSecond()));
  }

  private long revokedUntil() {
    return SshRecords.read(f.storage.get(SshRecords.revokedId("t", "k")).orElseThrow().value(), RevokedKeyId.class)
        .until();
  }

  private List<Long> expiryTimes(String prefix) {
    return f.storage.list(prefix).stream().map(k -> SshRecords.expiryTime(prefix, k)).toList();
  }

  private ReadRecordingStorage recorder() {
    return (ReadRecordingStorage) f.storage;
  }

  /** The certificate records read (not pages), by key. */
  private Set<String> certificatesRead() {
    return recorder().reads.stream().filter(k -> k.startsWith(SshRecords.CERTS) && !k.contains("["))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** The serials (the last segment) of index entries or record keys, sorted. */
  private static List<String> serialsIn(List<String> keys) {
    return sorted(keys.stream().map(k -> k.substring(k.lastIndexOf('/') + 1)).toList());
  }

  private static List<String> sorted(List<String> l) {
    return l.stream().sorted().toList();
  }
}
