package dev.keywarden.ssh;

import java.util.Base64;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/** Security-key (FIDO) public key lines, made from ordinary keys: no authenticator is needed to certify one. */
final class SshTestKeys {
  private SshTestKeys() {}

  /** An sk-ssh-ed25519@openssh.com line with the point of an ssh-ed25519 line. */
  static String skEd25519(String ed25519Line) {
    ByteArrayBuffer in = new ByteArrayBuffer(Base64.getDecoder().decode(ed25519Line.split(" ")[1]));
    in.getString();
    byte[] point = in.getBytes();
    ByteArrayBuffer out = new ByteArrayBuffer();
    out.putString("sk-ssh-ed25519@openssh.com");
    out.putBytes(point);
    out.putString("ssh:");
    return "sk-ssh-ed25519@openssh.com " + Base64.getEncoder().encodeToString(out.getCompactData()) + " sk@test";
  }

  /** An sk-ecdsa-sha2-nistp256@openssh.com line with the point of an ecdsa-sha2-nistp256 line. */
  static String skEcdsa(String ecdsaP256Line) {
    ByteArrayBuffer in = new ByteArrayBuffer(Base64.getDecoder().decode(ecdsaP256Line.split(" ")[1]));
    in.getString();
    in.getString();
    byte[] point = in.getBytes();
    ByteArrayBuffer out = new ByteArrayBuffer();
    out.putString("sk-ecdsa-sha2-nistp256@openssh.com");
    out.putString("nistp256");
    out.putBytes(point);
    out.putString("ssh:");
    return "sk-ecdsa-sha2-nistp256@openssh.com " + Base64.getEncoder().encodeToString(out.getCompactData())
        + " sk@test";
  }
}
