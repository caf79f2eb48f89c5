package dev.keywarden.pki;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Throwaway software keys, signers and CSRs for tests. */
final class TestKeys {
  static final BouncyCastleProvider BC = new BouncyCastleProvider();

  private TestKeys() {}

  static KeyPair ec(String curve) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC", BC);
    g.initialize(new ECGenParameterSpec(curve));
    return g.generateKeyPair();
  }

  static KeyPair ed25519() throws Exception {
    return KeyPairGenerator.getInstance("Ed25519", BC).generateKeyPair();
  }

  static KeyPair rsa(int bits) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", BC);
    g.initialize(bits);
    return g.generateKeyPair();
  }

  static String sigAlg(KeyPair k) {
    return switch (k.getPublic().getAlgorithm()) {
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> "SHA256withRSA";
    };
  }

  static ContentSigner signer(KeyPair k) throws Exception {
    return new JcaContentSignerBuilder(sigAlg(k)).setProvider(BC).build(k.getPrivate());
  }

  /** A DER CSR for {@code subject} with the given SANs, signed by {@code k}. */
  static byte[] csr(KeyPair k, String subject, List<GeneralName> sans) throws Exception {
    JcaPKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(new X500Name(subject),
        k.getPublic());
    if (!sans.isEmpty()) {
      ExtensionsGenerator ext = new ExtensionsGenerator();
      ext.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
      b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate());
    }
    return b.build(signer(k)).getEncoded();
  }

  static GeneralName dns(String name) {
    return new GeneralName(GeneralName.dNSName, name);
  }

  static GeneralName uri(String uri) {
    return new GeneralName(GeneralName.uniformResourceIdentifier, uri);
  }

  static GeneralName ip(String ip) {
    return new GeneralName(GeneralName.iPAddress, ip);
  }
}
