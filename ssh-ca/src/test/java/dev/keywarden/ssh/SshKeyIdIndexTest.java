package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;
import static org.quicktheories.generators.SourceDSL.strings;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.testing.ForwardingStorage;
import dev.keywarden.storage.testing.ReadRecordingStorage;
import dev.keywarden.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * Revoking a key id reads the certificates of that CA and key id through an index, and no other certificate; the
 * revoked key ids are read a page at a time.
 */
class SshKeyIdIndexTest {
  /** Key ids that are prefixes of each other, hold '/', look like escapes, or are not ASCII. */
  static final List<String> TRICKY = List.of("a", "ab", "a/", "a/b", "/", "//", "a b", "a%2Fb", "0", "00",
      "ü", "üx", "日本/語", "😀", "😀😀", "61");
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
        .ttl(Duration.ofHours(1)).build());
    f.engine.createCa("idx", null, Optional.empty());
    f.engine.createCa("idx-2", null, Optional.empty());
  }

  @AfterEach
  void tearDown() {
    f.close();
  }

  @Test
  void revokeKeyIdMarksExactlyThatCasCertificatesWithThatKeyIdAndReadsNoOthers() {
    Map<List<String>, Set<String>> serials = signEveryTrickyKeyIdTwiceOnBothCas();
    f.engine.revokeKeyId("idx", "unused"); // the first use checks the store is indexed: keep that out of the count

    for (String keyId : TRICKY) {
      ReadRecordingStorage reads = recorder();
      reads.reads.clear();
      List<SshCertificateRecord> marked = f.engine.revokeKeyId("idx", keyId);

      Set<String> expected = serials.get(List.of("idx", keyId));
      assertEquals(expected, marked.stream().map(SshCertificateRecord::serial).collect(Collectors.toSet()),
          "key id '" + keyId + "'");
      assertTrue(marked.stream().allMatch(c -> c.caName().equals("idx") && c.keyId().equals(keyId)));
      assertEquals(expected.stream().map(s -> SshRecords.CERTS + s).collect(Collectors.toCollection(TreeSet::new)),
          certificatesRead(reads), "revoking '" + keyId + "' read only its own certificates");
    }
    for (Map.Entry<List<String>, Set<String>> e : serials.entrySet()) {
      boolean revoked = e.getKey().get(0).equals("idx");
      for (String serial : e.getValue()) {
        assertEquals(revoked, f.engine.certificate(serial).revokedAt() != null, e.getKey() + " " + serial);
      }
    }
    assertEquals(List.of(), f.engine.revokeKeyId("idx", "ab"), "revoking again marks nothing new");
  }

  @Test
  void aStoreWrittenBeforeTheIndexIsIndexedOnceOnFirstUse() throws Exception {
    Map<List<String>, Set<String>> serials = signEveryTrickyKeyIdTwiceOnBothCas();
    writtenByThePreviousVersion();
    assertTrue(f.storage.list(SshRecords.BY_KEY_ID).isEmpty());
    f.restart();

    List<SshCertificateRecord> marked = f.engine.revokeKeyId("idx-2", "a/b");
    assertEquals(serials.get(List.of("idx-2", "a/b")),
        marked.stream().map(SshCertificateRecord::serial).collect(Collectors.toSet()));
    assertTrue(f.storage.get(SshRecords.BY_KEY_ID_INDEXED).isPresent());
    int entries = serials.values().stream().mapToInt(Set::size).sum();
    assertEquals(entries, f.storage.list(SshRecords.BY_KEY_ID).size(), "every stored certificate indexed");

    // indexed once: the next revocation reads only its own certificates
    ReadRecordingStorage reads = recorder();
    reads.reads.clear();
    f.engine.revokeKeyId("idx", "😀");
    assertEquals(serials.get(List.of("idx", "😀")).stream().map(s -> SshRecords.CERTS + s)
        .collect(Collectors.toCollection(TreeSet::new)), certificatesRead(reads));
  }

  @Test
  void tidyReindexIndexesWhatAServerFromBeforeTheIndexStoredAfterItWasBuiltAndDropsTheEntriesOfExpiredCertificates()
      throws Exception {
    f.engine.revokeKeyId("idx", "nothing"); // the index is built (empty)
    String early = sign("idx", "late/comer", Duration.ofMinutes(30));
    String late = sign("idx", "late/comer", Duration.ofHours(1));
    writtenByThePreviousVersion(); // as if a server not yet upgraded had stored them
    f.storage.put(SshRecords.BY_KEY_ID_INDEXED, new byte[0]);
    f.storage.put(SshRecords.INDEXED, new byte[0]);
    f.restart();

    f.engine.tidy(clock.instant());
    assertEquals(List.of(), f.storage.list(SshRecords.BY_KEY_ID), "a plain tidy reads no certificate to index it");
    assertEquals(List.of(), f.storage.list(SshRecords.EXPIRY));

    f.engine.tidy(clock.instant(), true);
    assertEquals(2, f.storage.list(SshRecords.CERT_EXPIRY).size());
    assertEquals(List.of(SshRecords.byKeyId("idx", "late/comer") + early,
        SshRecords.byKeyId("idx", "late/comer") + late).stream().sorted().toList(),
        f.storage.list(SshRecords.BY_KEY_ID));

    clock.advance(Duration.ofMinutes(45));
    Tidied t = f.engine.tidy(clock.instant());
    assertEquals(1, t.certificates());
    assertEquals(List.of(SshRecords.byKeyId("idx", "late/comer") + late), f.storage.list(SshRecords.BY_KEY_ID));
    assertEquals(List.of(late), f.engine.revokeKeyId("idx", "late/comer").stream()
        .map(SshCertificateRecord::serial).toList());

    clock.advance(Duration.ofHours(1));
    f.engine.tidy(clock.instant());
    assertEquals(List.of(), f.storage.list(SshRecords.BY_KEY_ID), "no entry outlives its certificate");
    assertEquals(List.of(), f.storage.list(SshRecords.CERTS));
    assertEquals(List.of(), f.storage.list(SshRecords.CERT_EXPIRY));
  }

  @Test
  void aCertificateRemovedWhileTheIndexIsBuiltGetsNoEntry() throws Exception {
    String gone = sign("idx", "k", Duration.ofHours(1));
    String kept = sign("idx", "k", Duration.ofHours(1));
    writtenByThePreviousVersion();
    f.restart();
    // the page of certificates is read, then a server from before the index tidies one away before it is indexed
    otherServer.before(() -> otherServer.delegate().delete(SshRecords.CERTS + gone));

    f.engine.tidy(clock.instant()); // builds the index first (and, unlike revoke-key-id, drops no stale entry)
    assertTrue(f.storage.get(SshRecords.CERTS + gone).isEmpty());
    assertEquals(List.of(SshRecords.byKeyId("idx", "k") + kept), f.storage.list(SshRecords.BY_KEY_ID),
        "no entry for a certificate that is gone");
    assertEquals(1, f.storage.list(SshRecords.CERT_EXPIRY).size());
    assertTrue(f.storage.list(SshRecords.CERT_EXPIRY).get(0).endsWith("/" + kept));
    assertEquals(List.of(kept), f.engine.revokeKeyId("idx", "k").stream().map(SshCertificateRecord::serial).toList());
  }

  @Test
  void anEntryLeftByAServerFromBeforeTheIndexIsDroppedNotFollowed() throws Exception {
    String serial = sign("idx", "k", Duration.ofHours(1));
    // a server from before the index tidied the certificate away and left its entry
    f.storage.delete(SshRecords.CERTS + serial);
    assertEquals(List.of(), f.engine.revokeKeyId("idx", "k"));
    assertEquals(List.of(), f.storage.list(SshRecords.BY_KEY_ID));
    assertNull(f.storage.get(SshRecords.CERTS + serial).orElse(null));
  }

  @Test
  void signingWritesTheCertificateAndItsEntriesInOneTransaction() {
    ReadRecordingStorage reads = recorder();
    int before = reads.transactionWrites.size();
    String serial = sign("idx", "one/tx", Duration.ofHours(1));
    assertTrue(reads.transactionWrites.subList(before, reads.transactionWrites.size()).contains(3),
        "certificate, key id entry, expiry entry: " + reads.transactionWrites);
    assertNotNull(f.storage.get(SshRecords.byKeyId("idx", "one/tx") + serial).orElse(null));
    String expiry = f.storage.list(SshRecords.CERT_EXPIRY).get(0);
    assertEquals(clock.instant().plus(Duration.ofHours(1)).getEpochSecond(),
        SshRecords.expiryTime(SshRecords.CERT_EXPIRY, expiry));
    assertTrue(expiry.endsWith("/" + serial));
    assertFalse(f.storage.get(SshRecords.byKeyId("idx", "one") + serial).isPresent());
  }

  @Test
  void theKrlAndTheSigningStateReadTheRevokedKeyIdsAPageAtATimeNotOneByOne() {
    for (String keyId : TRICKY) {
      f.engine.revokeKeyId("idx", keyId);
    }
    f.restart(); // nothing cached
    ReadRecordingStorage reads = recorder();
    reads.reads.clear();
    f.engine.krl("idx");
    sign("idx", "fresh", Duration.ofHours(1));
    String prefix = SshRecords.REVOKED_IDS + "idx/";
    assertEquals(List.of(prefix + "[,500]", prefix + "[,500]"),
        reads.reads.stream().filter(r -> r.startsWith(SshRecords.REVOKED_IDS)).toList(),
        "one page for the KRL, one for the signing state: " + reads.reads);
  }

  /** No (CA, key id) range holds the entry of another: escaped key ids never reach into each other's range. */
  @Test
  void noKeyIdsRangeHoldsAnotherKeyIdsEntry() {
    Gen<String> pieces = Generate.pick(List.of("a", "b", "/", "ü", "😀", "%", "2f", "0", "-", " "));
    Gen<String> tricky = lists().of(pieces).ofSizeBetween(1, 6).map(l -> String.join("", l));
    Gen<String> any = strings().betweenCodePoints(0x20, 0x10FFFF).ofLengthBetween(1, 12)
        .assuming(dev.keywarden.failure.Inputs::wellFormedUnicode);
    Gen<String> keyIds = Generate.oneOf(tricky, any);
    Gen<String> cas = Generate.pick(List.of("c", "c-1", "c1", "C", "c_"));
    qt().forAll(cas, keyIds, cas, keyIds).assuming((ca1, k1, ca2, k2) -> !(ca1.equals(ca2) && k1.equals(k2)))
        .checkAssert((ca1, k1, ca2, k2) -> {
          String range = SshRecords.byKeyId(ca1, k1);
          assertFalse(SshRecords.byKeyId(ca2, k2).startsWith(range), ca1 + "/" + k1 + " vs " + ca2 + "/" + k2);
          assertTrue((SshRecords.byKeyId(ca1, k1) + "123").startsWith(range));
        });
    // the case that matters most, generated directly: a key id and a longer one it is a prefix of
    qt().forAll(Generate.pick(List.of("c", "c-1")), keyIds, keyIds).checkAssert((ca, k, suffix) ->
        assertFalse(SshRecords.byKeyId(ca, k + suffix).startsWith(SshRecords.byKeyId(ca, k)), k + " + " + suffix));
    qt().forAll(keyIds, longs().between(1, Long.MAX_VALUE)).checkAssert((k, serial) -> {
      String entry = SshRecords.byKeyId("c", k) + serial;
      assertEquals(Long.toString(serial), entry.substring(SshRecords.byKeyId("c", k).length()));
      assertEquals(-1, entry.indexOf('/', SshRecords.byKeyId("c", k).length()), "the serial is the last segment");
    });
  }

  /** Storage that runs a task once, just before the next transaction begins. */
  static final class BeforeNextTransaction extends ForwardingStorage {
    private volatile Runnable pending;

    BeforeNextTransaction(Storage real) {
      super(real);
    }

    void before(Runnable task) {
      pending = task;
    }

    Storage delegate() {
      return delegate;
    }

    @Override
    public <T> T atomically(Function<StorageOps, T> work) {
      Runnable task = pending;
      pending = null;
      if (task != null) {
        task.run();
      }
      return super.atomically(work);
    }
  }

  private Map<List<String>, Set<String>> signEveryTrickyKeyIdTwiceOnBothCas() {
    Map<List<String>, Set<String>> serials = new HashMap<>();
    for (String ca : List.of("idx", "idx-2")) {
      for (String keyId : TRICKY) {
        for (int i = 0; i < 2; i++) {
          serials.computeIfAbsent(List.of(ca, keyId), k -> new TreeSet<>()).add(sign(ca, keyId,
              Duration.ofHours(1)));
        }
      }
    }
    return serials;
  }

  private String sign(String ca, String keyId, Duration ttl) {
    return f.engine.sign("any", BOB, new SignRequest(publicKey, List.of("bob"), Optional.of(ttl),
        Optional.of(keyId), null, null, Optional.of(ca))).serial();
  }

  /** Makes the store look as the version before both indexes left it: no index, no marker, no flag. */
  private void writtenByThePreviousVersion() throws Exception {
    writtenByThePreviousVersion(f.storage);
  }

  /** {@link #writtenByThePreviousVersion()} on {@code s}. */
  static void writtenByThePreviousVersion(Storage s) throws Exception {
    ObjectMapper json = new ObjectMapper();
    for (String key : s.list(SshRecords.CERTS)) {
      ObjectNode cert = (ObjectNode) json.readTree(s.get(key).orElseThrow().value());
      cert.remove("key_id_indexed");
      cert.remove("expiry_indexed");
      s.put(key, json.writeValueAsBytes(cert));
    }
    for (String prefix : List.of(SshRecords.BY_KEY_ID, SshRecords.EXPIRY)) {
      for (String key : s.list(prefix)) {
        s.delete(key);
      }
    }
    s.delete(SshRecords.BY_KEY_ID_INDEXED);
    s.delete(SshRecords.INDEXED);
  }

  private ReadRecordingStorage recorder() {
    return (ReadRecordingStorage) f.storage;
  }

  private static TreeSet<String> certificatesRead(ReadRecordingStorage reads) {
    return reads.reads.stream().filter(k -> k.startsWith(SshRecords.CERTS)).collect(Collectors
        .toCollection(TreeSet::new));
  }
}
