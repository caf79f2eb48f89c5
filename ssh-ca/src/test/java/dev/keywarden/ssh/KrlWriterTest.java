package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.testing.Generators;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The KRL writer against its own reader (many random sets) and against ssh-keygen -Q (fewer, real certificates). */
class KrlWriterTest {
  @TempDir static Path dir;
  static OpenSsh ssh;
  static TestSigner caA;
  static TestSigner caB;
  static SshPublicKeys.Parsed subject;

  @BeforeAll
  static void setUp() throws Exception {
    ssh = new OpenSsh(dir);
    caA = new TestSigner(KeyPairAlgorithm.ED25519);
    caB = new TestSigner(KeyPairAlgorithm.EC_P256);
    subject = SshPublicKeys.parse("k", ssh.newKey("user", "ed25519", 0));
  }

  @Test
  void anEmptyKrlIsAHeaderSshKeygenAccepts() throws Exception {
    byte[] krl = KrlWriter.write(1, 1_700_000_000L, "keywarden-ca:users", List.of());
    assertEquals(8 + 4 + 8 + 8 + 8 + 4 + 4 + "keywarden-ca:users".length(), krl.length);
    ssh.write("empty.krl", krl);
    String dump = ssh.keygenOk("-Q", "-l", "-f", "empty.krl");
    assertTrue(dump.contains("# KRL version 1"), dump);
    ssh.write("c-cert.pub", cert(caA, 5, "alice").line(null) + "\n");
    assertTrue(ssh.keygenOk("-Q", "-f", "empty.krl", "c-cert.pub").contains(": ok"));
  }

  @Test
  void runsOfThreeOrMoreBecomeRangesAndTheRestOneList() {
    SortedSet<Long> serials = new TreeSet<>(List.of(1L, 2L, 4L, 5L, 6L, 7L, 10L, -3L, -2L, -1L, Long.MAX_VALUE,
        Long.MIN_VALUE));
    byte[] krl = KrlWriter.write(3, 0, "", List.of(new KrlWriter.Section(blob(caA), serials, new TreeSet<>())));
    KrlReader.Revoked r = KrlReader.read(krl).byCa().get(b64(caA));
    assertEquals(2, r.ranges(), "4-7 and 2^64-3..2^64-1");
    assertEquals(1, r.lists());
    Set<Long> expected = new TreeSet<>(Long::compareUnsigned);
    expected.addAll(serials);
    assertEquals(expected, r.serials());
  }

  @Test
  void randomSerialAndKeyIdSetsReadBackUnchanged() {
    qt().withExamples(300).forAll(Generators.randoms()).checkAssert(random -> {
      List<KrlWriter.Section> sections = new ArrayList<>();
      Map<String, KrlReader.Revoked> expected = new TreeMap<>();
      int cas = random.nextInt(3);
      for (int i = 0; i < cas; i++) {
        TestSigner ca = i == 0 ? caA : caB;
        SortedSet<Long> serials = randomSerials(random);
        SortedSet<String> ids = new TreeSet<>();
        for (int k = random.nextInt(4); k > 0; k--) {
          ids.add("id-" + random.nextInt(10) + (random.nextBoolean() ? "-é" : ""));
        }
        sections.add(new KrlWriter.Section(blob(ca), serials, ids));
        if (!serials.isEmpty() || !ids.isEmpty()) {
          Set<Long> unsigned = new TreeSet<>(Long::compareUnsigned);
          unsigned.addAll(serials);
          expected.put(b64(ca), new KrlReader.Revoked(unsigned, ids, 0, 0));
        }
      }
      KrlReader.Krl read = KrlReader.read(KrlWriter.write(42, 7, "c", sections));
      assertEquals(42, read.version());
      assertEquals(expected.keySet(), new TreeSet<>(read.byCa().keySet()));
      expected.forEach((ca, want) -> {
        assertEquals(want.serials(), read.byCa().get(ca).serials());
        assertEquals(want.keyIds(), read.byCa().get(ca).keyIds());
      });
    });
  }

  private static final Pattern DUMP_SERIAL = Pattern.compile("serial: (\\d+)(?:-(\\d+))?");
  private static final Pattern DUMP_ID = Pattern.compile("id: (\\S+)");

  @Test
  void sshKeygenReadsTheSameRevocationsAndRefusesExactlyThoseCertificates() {
    SecureRandom seeds = new SecureRandom();
    qt().withExamples(15).forAll(Generators.randoms()).checkAssert(random -> {
      try {
        SortedSet<Long> serials = randomSerials(random);
        SortedSet<String> ids = new TreeSet<>(List.of("revoked-" + random.nextInt(3)));
        byte[] krl = KrlWriter.write(1, 0, "", List.of(new KrlWriter.Section(blob(caA), serials, ids),
            new KrlWriter.Section(blob(caB), new TreeSet<>(List.of(99L)), new TreeSet<>())));
        Path file = ssh.write("p.krl", krl);
        String dump = ssh.keygenOk("-Q", "-l", "-f", file.toString());
        Set<Long> dumped = new TreeSet<>(Long::compareUnsigned);
        Set<String> dumpedIds = new TreeSet<>();
        Matcher m = DUMP_SERIAL.matcher(dump);
        while (m.find()) {
          long lo = Long.parseUnsignedLong(m.group(1));
          long hi = m.group(2) == null ? lo : Long.parseUnsignedLong(m.group(2));
          for (long v = lo; ; v++) {
            dumped.add(v);
            if (v == hi) {
              break;
            }
          }
        }
        Matcher id = DUMP_ID.matcher(dump);
        while (id.find()) {
          dumpedIds.add(id.group(1));
        }
        Set<Long> want = new TreeSet<>(Long::compareUnsigned);
        want.addAll(serials);
        want.add(99L);
        assertEquals(want, dumped, dump);
        assertEquals(ids, dumpedIds, dump);
        // Certificates: one revoked by serial (if any), one by key id, one by CA B's serial, two not revoked.
        List<String> files = new ArrayList<>();
        List<Boolean> revoked = new ArrayList<>();
        if (!serials.isEmpty()) {
          files.add(certFile("s", cert(caA, serials.first(), "fine")));
          revoked.add(true);
        }
        files.add(certFile("i", cert(caA, 1 + seeds.nextInt(1000), ids.first())));
        revoked.add(true);
        files.add(certFile("b", cert(caB, 99, "fine")));
        revoked.add(true);
        long free = seeds.nextLong();
        while (serials.contains(free)) {
          free = seeds.nextLong();
        }
        files.add(certFile("o", cert(caA, free, "fine")));
        revoked.add(false);
        files.add(certFile("o2", cert(caB, 98, "revoked-0"))); // CA B revokes no key ids
        revoked.add(false);
        for (int i = 0; i < files.size(); i++) {
          OpenSsh.Run r = ssh.keygen("-Q", "-f", file.toString(), files.get(i));
          assertTrue(r.out().contains(revoked.get(i) ? ": REVOKED" : ": ok"), files.get(i) + ": " + r.out());
        }
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  /** Up to ~40 serials: scattered 64-bit ones, small ones, and consecutive runs, some near 2^64. */
  static SortedSet<Long> randomSerials(Random random) {
    SortedSet<Long> s = new TreeSet<>();
    for (int n = random.nextInt(12); n > 0; n--) {
      switch (random.nextInt(4)) {
        case 0 -> s.add(random.nextLong());
        case 1 -> s.add((long) random.nextInt(50));
        case 2 -> {
          long start = random.nextBoolean() ? random.nextLong() : -1L - random.nextInt(8);
          for (int k = 0, len = 1 + random.nextInt(6); k < len && start + k != 0; k++) {
            s.add(start + k);
          }
        }
        default -> s.add(-1L - random.nextInt(3));
      }
    }
    s.remove(0L);
    return s;
  }

  private static String certFile(String name, CertificateEncoder.Encoded cert) throws Exception {
    ssh.write(name + "-cert.pub", cert.line(null) + "\n");
    return name + "-cert.pub";
  }

  private static CertificateEncoder.Encoded cert(TestSigner ca, long serial, String keyId) {
    return CertificateEncoder.sign(new CertificateEncoder.Contents(subject.key(), serial, CertType.USER, keyId,
        List.of("alice"), 0, Long.MAX_VALUE, new TreeMap<>(), new TreeMap<>()), ca, new SecureRandom());
  }

  private static byte[] blob(TestSigner ca) {
    return SshPublicKeys.blob(ca.publicKey());
  }

  private static String b64(TestSigner ca) {
    return Base64.getEncoder().encodeToString(blob(ca));
  }
}
