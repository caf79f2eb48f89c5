package dev.keywarden.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_ALWAYS_SENSITIVE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_DECRYPT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_DERIVE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_ENCRYPT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_EXTRACTABLE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_NEVER_EXTRACTABLE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_PRIVATE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_SENSITIVE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_SIGN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_SIGN_RECOVER;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_TOKEN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_UNWRAP;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_VALUE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_VERIFY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_WRAP;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_PRIME_1;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_PRIVATE_EXPONENT;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_PRIVATE_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_PUBLIC_KEY;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_ATTRIBUTE_SENSITIVE;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import dev.keywarden.hsm.testing.SoftHsmToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;

class Pkcs11SignerTest {

  private static final byte[] TBS = "tbsCertificate: CN=Keywarden Test CA".getBytes(StandardCharsets.UTF_8);

  @TempDir
  Path dir;

  @Test
  void privateKeysAreSensitiveNeverExtractableAndOnlySign() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin())) {
      for (KeyPairAlgorithm algorithm : List.of(KeyPairAlgorithm.EC_P256, KeyPairAlgorithm.ED25519,
          KeyPairAlgorithm.RSA_2048)) {
        HsmKeyId id = hsm.generateKeyPair("attributes-" + algorithm, algorithm);
        assertEquals(32, id.idHex().length(), "16-byte CKA_ID");
        // A session of our own, outside the provider's pool.
        Session session = hsm.token().getToken().openSession(false);
        try {
          long privateKey = findOne(session, CKO_PRIVATE_KEY, id);
          AttributeVector attrs = session.getAttrValues(privateKey, CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
              CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_SIGN, CKA_DECRYPT, CKA_UNWRAP,
              CKA_SIGN_RECOVER, CKA_DERIVE);
          String what = algorithm + " private key";
          assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_TOKEN), what);
          assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_PRIVATE), what);
          assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_SENSITIVE), what);
          assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_EXTRACTABLE), what);
          assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_NEVER_EXTRACTABLE), what);
          assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_ALWAYS_SENSITIVE), what);
          assertEquals(Boolean.TRUE, attrs.getBooleanAttrValue(CKA_SIGN), what);
          assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_DECRYPT), what);
          assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_UNWRAP), what);
          assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_SIGN_RECOVER), what);
          assertEquals(Boolean.FALSE, attrs.getBooleanAttrValue(CKA_DERIVE), what);
          long secret = algorithm.family() == KeyPairAlgorithm.Family.RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE;
          for (long attribute : algorithm.family() == KeyPairAlgorithm.Family.RSA
              ? new long[] {secret, CKA_PRIME_1} : new long[] {secret}) {
            try {
              assertNull(session.getAttrValues(privateKey, attribute).getByteArrayAttrValue(attribute),
                  what + ": secret attribute must not be readable");
            } catch (PKCS11Exception e) {
              assertEquals(CKR_ATTRIBUTE_SENSITIVE, e.getErrorCode());
            }
          }

          long publicKey = findOne(session, CKO_PUBLIC_KEY, id);
          AttributeVector pub = session.getAttrValues(publicKey, CKA_TOKEN, CKA_VERIFY, CKA_ENCRYPT, CKA_WRAP);
          assertEquals(Boolean.TRUE, pub.getBooleanAttrValue(CKA_TOKEN), algorithm + " public key");
          assertEquals(Boolean.TRUE, pub.getBooleanAttrValue(CKA_VERIFY), algorithm + " public key");
          assertEquals(Boolean.FALSE, pub.getBooleanAttrValue(CKA_ENCRYPT), algorithm + " public key");
          assertEquals(Boolean.FALSE, pub.getBooleanAttrValue(CKA_WRAP), algorithm + " public key");
        } finally {
          session.closeSession();
        }
      }
    }
  }

  @Test
  void pkcs11ToolListsBothHalvesUntilTheKeyPairIsDestroyed() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin())) {
      HsmKeyId id = hsm.generateKeyPair("ca-root-hsm", KeyPairAlgorithm.EC_P384);
      String privateKeys = listObjects(softHsm, "privkey");
      assertTrue(privateKeys.contains("label:      ca-root-hsm"), privateKeys);
      assertTrue(privateKeys.contains("ID:         " + id.idHex()), privateKeys);
      assertTrue(privateKeys.matches("(?s).*Usage:\\s+sign\\s*\n.*"), "only sign: " + privateKeys);
      assertTrue(privateKeys.contains("Access:     sensitive, always sensitive, never extractable, local"),
          privateKeys);
      String publicKeys = listObjects(softHsm, "pubkey");
      assertTrue(publicKeys.contains("label:      ca-root-hsm"), publicKeys);

      hsm.destroyKey(id);
      assertFalse(listObjects(softHsm, "privkey").contains("ca-root-hsm"));
      assertFalse(listObjects(softHsm, "pubkey").contains("ca-root-hsm"));
    }
  }

  @Test
  void openSslVerifiesTheSignatures() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Hsm hsm = softHsm.provider(2).open(softHsm.pin())) {
      HsmSigner ec = hsm.signer(hsm.generateKeyPair("openssl-ec", KeyPairAlgorithm.EC_P256));
      HsmSigner rsa = hsm.signer(hsm.generateKeyPair("openssl-rsa", KeyPairAlgorithm.RSA_2048));
      HsmSigner ed = hsm.signer(hsm.generateKeyPair("openssl-ed", KeyPairAlgorithm.ED25519));
      Path msg = Files.write(dir.resolve("msg"), TBS);
      Path other = Files.write(dir.resolve("other"), "another message".getBytes(StandardCharsets.UTF_8));

      Path ecPub = pem(ec, "ec.pem");
      Path ecSig = Files.write(dir.resolve("ec.sig"), ec.sign(SignatureAlgorithm.ECDSA_SHA256, TBS));
      assertOpenSsl(0, "openssl", "dgst", "-sha256", "-verify", ecPub, "-signature", ecSig, msg);
      assertOpenSsl(1, "openssl", "dgst", "-sha256", "-verify", ecPub, "-signature", ecSig, other);

      Path rsaPub = pem(rsa, "rsa.pem");
      Path rsaSig = Files.write(dir.resolve("rsa.sig"), rsa.sign(SignatureAlgorithm.RSA_PKCS1_SHA256, TBS));
      assertOpenSsl(0, "openssl", "dgst", "-sha256", "-verify", rsaPub, "-signature", rsaSig, msg);
      assertOpenSsl(1, "openssl", "dgst", "-sha256", "-verify", rsaPub, "-signature", rsaSig, other);
      assertOpenSsl(1, "openssl", "dgst", "-sha256", "-verify", ecPub, "-signature", rsaSig, msg);

      Path pssSig = Files.write(dir.resolve("pss.sig"), rsa.sign(SignatureAlgorithm.RSA_PSS_SHA384, TBS));
      assertOpenSsl(0, "openssl", "dgst", "-sha384", "-sigopt", "rsa_padding_mode:pss", "-sigopt",
          "rsa_pss_saltlen:48", "-sigopt", "rsa_mgf1_md:sha384", "-verify", rsaPub, "-signature", pssSig, msg);

      Path edPub = pem(ed, "ed.pem");
      Path edSig = Files.write(dir.resolve("ed.sig"), ed.sign(SignatureAlgorithm.ED25519, TBS));
      assertOpenSsl(0, "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", edPub, "-rawin", "-in", msg,
          "-sigfile", edSig);
      assertOpenSsl(1, "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", edPub, "-rawin", "-in", other,
          "-sigfile", edSig);
    }
  }

  @Test
  void keyPairsAnOperatorMadeWithPkcs11ToolSignToo() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    // pkcs11-tool names the Edwards curve by a PrintableString, not by its OID as generateKeyPair does.
    for (String keyType : List.of("EC:edwards25519", "EC:prime256v1", "rsa:2048")) {
      String label = "operator-" + keyType.replace(':', '-');
      String idHex = keyType.startsWith("rsa") ? "0a0b" : keyType.contains("edwards") ? "0c0d" : "0e0f";
      softHsm.run(List.of("pkcs11-tool", "--module", softHsm.library().toString(), "--token-label", softHsm.label(),
          "--login", "--pin", new String(softHsm.pin()), "--keypairgen", "--key-type", keyType, "--label", label,
          "--id", idHex));
    }
    try (Hsm hsm = softHsm.provider(2).open(softHsm.pin())) {
      for (String[] expected : new String[][] {{"operator-EC-edwards25519", "0c0d", "ED25519"},
          {"operator-EC-prime256v1", "0e0f", "EC_P256"}, {"operator-rsa-2048", "0a0b", "RSA_2048"}}) {
        HsmSigner signer = hsm.signer(new HsmKeyId(expected[0], expected[1]));
        KeyPairAlgorithm algorithm = KeyPairAlgorithm.valueOf(expected[2]);
        assertEquals(algorithm, signer.algorithm());
        SignatureAlgorithm signature = algorithm == KeyPairAlgorithm.ED25519 ? SignatureAlgorithm.ED25519
            : algorithm == KeyPairAlgorithm.EC_P256 ? SignatureAlgorithm.ECDSA_SHA256
            : SignatureAlgorithm.RSA_PSS_SHA256;
        java.security.Signature verifier = signature.newJdkSignature();
        verifier.initVerify(signer.publicKey());
        verifier.update(TBS);
        assertTrue(verifier.verify(signer.sign(signature, TBS)), algorithm.toString());
      }
    }
  }

  @Test
  void aKeyPairDestroyedByAnotherSessionIsFailedPrecondition() throws Exception {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Pkcs11Hsm hsm = (Pkcs11Hsm) softHsm.provider(2).open(softHsm.pin())) {
      HsmKeyId id = hsm.generateKeyPair("destroyed-elsewhere", KeyPairAlgorithm.ED25519);
      HsmSigner signer = hsm.signer(id);
      signer.sign(SignatureAlgorithm.ED25519, TBS);
      // Deleted behind our back, as an operator with pkcs11-tool would.
      Session session = hsm.token().getToken().openSession(true);
      try {
        session.destroyObject(findOne(session, CKO_PRIVATE_KEY, id));
      } finally {
        session.closeSession();
      }
      KeywardenException e = assertThrows(KeywardenException.class,
          () -> signer.sign(SignatureAlgorithm.ED25519, TBS));
      assertEquals(Kind.FAILED_PRECONDITION, e.kind(), e.getMessage());
      assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.signer(id)).kind());
      // The public half is still there: destroyKey removes it and then finds nothing more.
      hsm.destroyKey(id);
      assertEquals(Kind.NOT_FOUND, assertThrows(KeywardenException.class, () -> hsm.destroyKey(id)).kind());
    }
  }

  @Test
  void keyPairsAesKeysAndKeksCannotBeMistakenForEachOther() {
    SoftHsmToken softHsm = SoftHsmToken.create();
    try (Hsm hsm = softHsm.provider(2).open(softHsm.pin())) {
      HsmKeyId pair = hsm.generateKeyPair("a-pair", KeyPairAlgorithm.EC_P256);
      assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.aesKey(pair)).kind());
      var kek = hsm.generateKek("a-kek");
      HsmKeyId kekAsPair = new HsmKeyId(kek.label(), kek.idHex());
      assertEquals(Kind.FAILED_PRECONDITION,
          assertThrows(KeywardenException.class, () -> hsm.signer(kekAsPair)).kind());
      assertEquals(Kind.NOT_FOUND, assertThrows(KeywardenException.class, () -> hsm.destroyKey(kekAsPair)).kind());
      HsmKeyId ghost = new HsmKeyId("ghost", "00112233445566778899aabbccddeeff");
      KeywardenException e = assertThrows(KeywardenException.class, () -> hsm.signer(ghost));
      assertEquals(Kind.FAILED_PRECONDITION, e.kind());
      assertTrue(e.getMessage().contains("no longer holds key 'ghost' (id 00112233445566778899aabbccddeeff)"),
          e.getMessage());
      assertNotEquals(null, hsm.kek(kek));
    }
  }

  private static long findOne(Session session, long keyClass, HsmKeyId id) throws Exception {
    session.findObjectsInit(new AttributeVector().class_(keyClass).label(id.label())
        .id(HexFormat.of().parseHex(id.idHex())));
    long[] found = session.findObjects(2);
    session.findObjectsFinal();
    assertEquals(1, found.length, "objects of class " + keyClass + " for " + id);
    return found[0];
  }

  private static String listObjects(SoftHsmToken softHsm, String type) {
    return softHsm.run(List.of("pkcs11-tool", "--module", softHsm.library().toString(), "--token-label",
        softHsm.label(), "--login", "--pin", new String(softHsm.pin()), "--list-objects", "--type", type));
  }

  private Path pem(HsmSigner signer, String name) throws IOException {
    String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(signer.publicKey().getEncoded());
    return Files.writeString(dir.resolve(name), "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----\n",
        StandardCharsets.US_ASCII);
  }

  /** Runs OpenSSL, a verifier nobody here wrote, and checks its exit status (0 verified, 1 refused). */
  private static void assertOpenSsl(int expectedExit, Object... command) throws Exception {
    List<String> args = new ArrayList<>();
    for (Object part : command) {
      args.add(part.toString());
    }
    Process process = new ProcessBuilder(args).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "openssl did not finish");
    assertEquals(expectedExit, process.exitValue(), String.join(" ", args) + "\n" + output);
  }
}
