package dev.keywarden.ssh;

import dev.keywarden.hsm.HsmSigner;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.sshd.common.config.keys.OpenSshCertificateImpl;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/**
 * Builds an OpenSSH certificate (PROTOCOL.certkeys): sshd-common's {@link OpenSshCertificateImpl} filled from what
 * the rules decided, its to-be-signed bytes encoded with sshd-common's buffer, signed by the CA in the HSM (one call)
 * and the signature appended. Options and extensions are written sorted by name, as the protocol requires.
 */
final class CertificateEncoder {
  private static final int NONCE_BYTES = 32;

  /** What goes in a certificate; the times are epoch seconds. */
  record Contents(PublicKey subjectKey, long serial, CertType type, String keyId, List<String> principals,
      long validAfter, long validBefore, SortedMap<String, String> criticalOptions,
      SortedMap<String, String> extensions) {
    Contents {
      principals = List.copyOf(principals);
      criticalOptions = new TreeMap<>(criticalOptions);
      extensions = new TreeMap<>(extensions);
    }
  }

  /** A signed certificate: its wire blob and its one-line text form ("TYPE-cert-v01@openssh.com BASE64 keyid"). */
  record Encoded(String certType, byte[] blob) {
    String line(String comment) {
      String l = certType + " " + Base64.getEncoder().encodeToString(blob);
      return comment == null || comment.isEmpty() ? l : l + " " + comment;
    }
  }

  private CertificateEncoder() {}

  /** The certificate key type for a subject key type: "ssh-ed25519-cert-v01@openssh.com" and so on. */
  static String certKeyType(String keyType) {
    int at = keyType.indexOf("@openssh.com");
    return at < 0 ? keyType + "-cert-v01@openssh.com" : keyType.substring(0, at) + "-cert-v01@openssh.com";
  }

  /** Fills, encodes and signs (one HSM call through {@code ca}) a certificate, verifying the signature. */
  static Encoded sign(Contents c, HsmSigner ca, SecureRandom random) {
    return sign(c, ca, random, true);
  }

  /** Fills, encodes and signs a certificate; the signature is verified against the CA key if {@code verify}. */
  static Encoded sign(Contents c, HsmSigner ca, SecureRandom random, boolean verify) {
    return sign(c, ca, SshPublicKeys.forSshd(ca.publicKey()), random, verify);
  }

  /**
   * {@link #sign(Contents, HsmSigner, SecureRandom, boolean)} with the CA's public key already in the form
   * sshd-common encodes ({@link SshPublicKeys#forSshd}), which the engine keeps per signer: converting an Ed25519 key
   * decodes its point, which costs a good part of a signature.
   */
  static Encoded sign(Contents c, HsmSigner ca, PublicKey caKey, SecureRandom random, boolean verify) {
    PublicKey subject = SshPublicKeys.forSshd(c.subjectKey());
    String certType = certKeyType(SshPublicKeys.keyType(subject));
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    OpenSshCertificateImpl cert = new OpenSshCertificateImpl();
    cert.setKeyType(certType);
    cert.setNonce(nonce);
    cert.setCertPubKey(subject);
    cert.setSerial(c.serial());
    cert.setType(c.type().wire());
    cert.setId(c.keyId());
    cert.setPrincipals(new ArrayList<>(c.principals()));
    cert.setValidAfter(c.validAfter());
    cert.setValidBefore(c.validBefore());
    cert.setCriticalOptions(c.criticalOptions());
    cert.setExtensions(c.extensions());
    cert.setReserved("");
    cert.setCaPubKey(caKey);

    ByteArrayBuffer tbs = new ByteArrayBuffer();
    tbs.putRawPublicKey(cert); // no signature yet: exactly the bytes the CA signs
    byte[] toSign = tbs.getCompactData();
    cert.setMessage(toSign);
    byte[] signature = CaSignatures.sign(ca, toSign, verify);
    cert.setSignature(signature);

    // The certificate is the signed part followed by the signature (PROTOCOL.certkeys): no second encoding.
    ByteArrayBuffer out = new ByteArrayBuffer(toSign.length + signature.length + 4, false);
    out.putRawBytes(toSign);
    out.putBytes(signature);
    return new Encoded(certType, out.getCompactData());
  }
}
