package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import java.nio.file.Path;
import java.util.Base64;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SshPublicKeysTest {
  @TempDir static Path dir;
  static OpenSsh ssh;
  static String ed25519;
  static String ecdsa256;
  static String ecdsa521;
  static String rsa2048;

  @BeforeAll
  static void keys() throws Exception {
    ssh = new OpenSsh(dir);
    ed25519 = ssh.newKey("ed", "ed25519", 0);
    ecdsa256 = ssh.newKey("ec256", "ecdsa", 256);
    ecdsa521 = ssh.newKey("ec521", "ecdsa", 521);
    rsa2048 = ssh.newKey("rsa", "rsa", 2048);
  }

  @Test
  void everyKeyTypeSshKeygenMakesParsesWithItsFamilyAndSize() {
    check(ed25519, SshPublicKeys.Family.ED25519, 256);
    check(ecdsa256, SshPublicKeys.Family.ECDSA, 256);
    check(ecdsa521, SshPublicKeys.Family.ECDSA, 521);
    check(rsa2048, SshPublicKeys.Family.RSA, 2048);
    check(SshTestKeys.skEd25519(ed25519), SshPublicKeys.Family.SK_ED25519, 256);
    check(SshTestKeys.skEcdsa(ecdsa256), SshPublicKeys.Family.SK_ECDSA, 256);
  }

  private static void check(String line, SshPublicKeys.Family family, int bits) {
    SshPublicKeys.Parsed p = SshPublicKeys.parse("public_key", line);
    assertEquals(family, p.family());
    assertEquals(bits, p.bits());
    String[] parts = line.split(" ");
    assertEquals(parts[0] + " " + parts[1], p.line(), "the line is re-encoded exactly");
  }

  @Test
  void fingerprintsAreTheOnesSshKeygenShows() throws Exception {
    for (String name : new String[] {"ed", "ec256", "ec521", "rsa"}) {
      String line = java.nio.file.Files.readString(dir.resolve(name + ".pub")).strip();
      String shown = ssh.keygenOk("-l", "-E", "sha256", "-f", name + ".pub");
      String ours = SshPublicKeys.fingerprint(SshPublicKeys.parse("k", line).key());
      assertTrue(shown.contains(" " + ours + " "), shown + " vs " + ours);
    }
  }

  @Test
  void certificatesDsaKeysAndOptionsAreRefusedNamingWhy() {
    assertRefused("ssh-ed25519-cert-v01@openssh.com AAAA", "is a certificate");
    assertRefused("ssh-dss AAAAB3NzaC1kc3M=", "DSA keys");
    assertRefused("no-pty " + ed25519, "authorized_keys options");
    assertRefused("ssh-ed25519", "is missing");
    assertRefused("ssh-ed25519 !!!!", "not base64");
    assertRefused(ed25519 + "\n" + ed25519, "line break");
    assertRefused("", "missing");
    assertRefused(null, "missing");
  }

  @Test
  void blobsThatLieAboutTheirTypeOrCarryTrailingBytesAreRefused() {
    String edBlob = ed25519.split(" ")[1];
    assertRefused("ssh-rsa " + edBlob, "names the type");
    byte[] blob = Base64.getDecoder().decode(edBlob);
    byte[] longer = java.util.Arrays.copyOf(blob, blob.length + 3);
    assertRefused("ssh-ed25519 " + Base64.getEncoder().encodeToString(longer), "bytes after the key");
    byte[] shorter = java.util.Arrays.copyOf(blob, blob.length - 1);
    assertRefused("ssh-ed25519 " + Base64.getEncoder().encodeToString(shorter), "not a valid");
  }

  @Test
  void anEcdsaPointOffTheCurveIsRefused() {
    ByteArrayBuffer in = new ByteArrayBuffer(Base64.getDecoder().decode(ecdsa256.split(" ")[1]));
    in.getString();
    in.getString();
    byte[] point = in.getBytes();
    point[point.length - 1] ^= 1;
    ByteArrayBuffer out = new ByteArrayBuffer();
    out.putString("ecdsa-sha2-nistp256");
    out.putString("nistp256");
    out.putBytes(point);
    KeywardenException e = assertThrows(KeywardenException.class, () -> SshPublicKeys.parse("public_key",
        "ecdsa-sha2-nistp256 " + Base64.getEncoder().encodeToString(out.getCompactData())));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
  }

  private static void assertRefused(String line, String why) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> SshPublicKeys.parse("public_key", line));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().startsWith("public_key"), e.getMessage());
    assertTrue(e.getMessage().contains(why), e.getMessage());
  }
}
