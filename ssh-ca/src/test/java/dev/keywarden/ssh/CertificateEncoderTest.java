package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.hsm.KeyPairAlgorithm;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every CA key type signs every subject key type, and ssh-keygen -L reads back exactly what was put in. */
class CertificateEncoderTest {
  @TempDir static Path dir;
  static OpenSsh ssh;
  static Map<String, String> subjects = new TreeMap<>();

  @BeforeAll
  static void keys() throws Exception {
    ssh = new OpenSsh(dir);
    subjects.put("ed25519", ssh.newKey("ed", "ed25519", 0));
    subjects.put("ecdsa-256", ssh.newKey("ec256", "ecdsa", 256));
    subjects.put("ecdsa-384", ssh.newKey("ec384", "ecdsa", 384));
    subjects.put("ecdsa-521", ssh.newKey("ec521", "ecdsa", 521));
    subjects.put("rsa-2048", ssh.newKey("rsa", "rsa", 2048));
    subjects.put("sk-ed25519", SshTestKeys.skEd25519(subjects.get("ed25519")));
    subjects.put("sk-ecdsa", SshTestKeys.skEcdsa(subjects.get("ecdsa-256")));
  }

  @Test
  void sshKeygenReadsEveryCaTypeTimesEverySubjectType() throws Exception {
    SecureRandom random = new SecureRandom();
    long validAfter = Instant.parse("2030-01-02T03:04:05Z").getEpochSecond();
    for (KeyPairAlgorithm caType : List.of(KeyPairAlgorithm.ED25519, KeyPairAlgorithm.EC_P256,
        KeyPairAlgorithm.EC_P384, KeyPairAlgorithm.RSA_3072)) {
      TestSigner ca = new TestSigner(caType);
      for (Map.Entry<String, String> subject : subjects.entrySet()) {
        SshPublicKeys.Parsed key = SshPublicKeys.parse("public_key", subject.getValue());
        long serial = random.nextLong() | Long.MIN_VALUE; // above 2^63: shown unsigned
        int before = ca.signs.get();
        CertificateEncoder.Encoded cert = CertificateEncoder.sign(new CertificateEncoder.Contents(key.key(), serial,
            CertType.USER, "alice@ops", List.of("alice", "deploy"), validAfter, validAfter + 3600,
            new TreeMap<>(Map.of("source-address", "10.0.0.0/8,192.168.1.1/32", "force-command", "/bin/true")),
            new TreeMap<>(Map.of("permit-pty", "", "permit-agent-forwarding", ""))), ca, random);
        assertEquals(before + 1, ca.signs.get(), "one HSM call per certificate");
        String file = caType + "-" + subject.getKey() + "-cert.pub";
        ssh.write(file, cert.line("alice@ops") + "\n");
        String out = ssh.keygenOk("-L", "-f", file);
        String what = caType + " x " + subject.getKey() + ":\n" + out;
        assertTrue(out.contains("Type: " + CertificateEncoder.certKeyType(key.keyType()) + " user certificate"), what);
        assertTrue(out.contains("Signing CA: ") && out.contains(SshPublicKeys.fingerprint(ca.publicKey())
            + " (using " + CaSignatures.sshName(caType) + ")"), what);
        assertTrue(out.contains("Key ID: \"alice@ops\""), what);
        assertTrue(out.contains("Serial: " + Long.toUnsignedString(serial)), what);
        assertTrue(out.contains("Valid: from " + local(validAfter) + " to " + local(validAfter + 3600)), what);
        assertTrue(out.matches("(?s).*Principals: \\n\\s+alice\\n\\s+deploy\\n.*"), what);
        assertTrue(out.matches("(?s).*Critical Options: \\n\\s+force-command /bin/true\\n"
            + "\\s+source-address 10.0.0.0/8,192.168.1.1/32\\n.*"), what);
        assertTrue(out.matches("(?s).*Extensions: \\n\\s+permit-agent-forwarding\\n\\s+permit-pty\\n.*"), what);
        assertTrue(!out.contains("ssh-rsa)"), "never SHA-1 RSA signatures: " + what);
      }
    }
  }

  @Test
  void aHostCertificateWithNoOptionsReadsBackAsHost() throws Exception {
    TestSigner ca = new TestSigner(KeyPairAlgorithm.ED25519);
    SshPublicKeys.Parsed key = SshPublicKeys.parse("public_key", subjects.get("ed25519"));
    CertificateEncoder.Encoded cert = CertificateEncoder.sign(new CertificateEncoder.Contents(key.key(), 7,
        CertType.HOST, "web1", List.of("web1.example.com"), 0, Long.MAX_VALUE, new TreeMap<>(), new TreeMap<>()),
        ca, new SecureRandom());
    ssh.write("host-cert.pub", cert.line(null) + "\n");
    String out = ssh.keygenOk("-L", "-f", "host-cert.pub");
    assertTrue(out.contains("host certificate"), out);
    assertTrue(out.contains("Critical Options: (none)"), out);
    assertTrue(out.contains("Extensions: (none)"), out);
  }

  /** ssh-keygen shows validity in local time as YYYY-MM-DDTHH:MM:SS. */
  private static String local(long epoch) {
    return DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss").withZone(ZoneId.systemDefault())
        .format(Instant.ofEpochSecond(epoch));
  }
}
