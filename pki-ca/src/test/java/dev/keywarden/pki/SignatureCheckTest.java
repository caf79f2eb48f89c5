package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.Signature;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.junit.jupiter.api.Test;

/**
 * The verifier the CA uses for CSRs and its own signatures, on Wycheproof's ECDSA and RSA vectors (every invalid
 * signature refused, every valid one accepted) and on the Bouncy Castle fallback.
 */
class SignatureCheckTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void theNativeProviderLoadsOnThisPlatform() {
    // Linux x86-64 is where Keywarden runs and is tested: the fast path must be the one the vectors exercise.
    if ("amd64".equals(System.getProperty("os.arch")) && System.getProperty("os.name").startsWith("Linux")) {
      assertTrue(SignatureCheck.nativeProvider().startsWith("AmazonCorrettoCryptoProvider"),
          SignatureCheck.nativeProvider());
    }
  }

  @Test
  void ecdsaP256VectorsDecideCorrectly() throws Exception {
    vectors("ecdsa_secp256r1_sha256_test.json", new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA256));
  }

  @Test
  void ecdsaP384VectorsDecideCorrectly() throws Exception {
    vectors("ecdsa_secp384r1_sha384_test.json", new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA384));
  }

  @Test
  void rsaPkcs1VectorsDecideCorrectly() throws Exception {
    vectors("rsa_signature_2048_sha256_test.json",
        new AlgorithmIdentifier(PKCSObjectIdentifiers.sha256WithRSAEncryption, DERNull.INSTANCE));
  }

  @Test
  void ed25519GoesThroughBouncyCastle() throws Exception {
    KeyPair k = TestKeys.ed25519();
    byte[] message = "to be signed".getBytes();
    Signature s = Signature.getInstance("Ed25519", TestKeys.BC);
    s.initSign(k.getPrivate());
    s.update(message);
    byte[] sig = s.sign();
    SignatureCheck.Key key = SignatureCheck.key(SubjectPublicKeyInfo.getInstance(k.getPublic().getEncoded()));
    AlgorithmIdentifier ed = new AlgorithmIdentifier(EdECObjectIdentifiers.id_Ed25519);
    assertTrue(SignatureCheck.verify(key, ed, message, sig));
    sig[3] ^= 1;
    assertFalse(SignatureCheck.verify(key, ed, message, sig));
  }

  @Test
  void aSignatureUnderTheWrongAlgorithmOrKeyTypeIsRefusedNotThrown() throws Exception {
    KeyPair k = TestKeys.ec("secp256r1");
    byte[] message = "m".getBytes();
    Signature s = Signature.getInstance("SHA256withECDSA", TestKeys.BC);
    s.initSign(k.getPrivate());
    s.update(message);
    byte[] sig = s.sign();
    SignatureCheck.Key key = SignatureCheck.key(SubjectPublicKeyInfo.getInstance(k.getPublic().getEncoded()));
    assertTrue(SignatureCheck.verify(key, new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA256), message,
        sig));
    assertFalse(SignatureCheck.verify(key, new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA384), message,
        sig));
    assertFalse(SignatureCheck.verify(key, new AlgorithmIdentifier(PKCSObjectIdentifiers.sha256WithRSAEncryption,
        DERNull.INSTANCE), message, sig));
    assertFalse(SignatureCheck.verify(key, new AlgorithmIdentifier(new ASN1ObjectIdentifier("1.2.3.4")), message,
        sig));
    assertFalse(SignatureCheck.verify(key, new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA256), message,
        new byte[0]));
  }

  private static void vectors(String file, AlgorithmIdentifier algorithm) throws Exception {
    JsonNode root = JSON.readTree(Files.readAllBytes(Path.of(System.getProperty("keywarden.testvectors"), file)));
    List<String> wrong = new ArrayList<>();
    int valid = 0;
    int invalid = 0;
    for (JsonNode group : root.get("testGroups")) {
      SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(hex(group, "publicKeyDer"));
      SignatureCheck.Key key = SignatureCheck.key(spki);
      for (JsonNode t : group.get("tests")) {
        boolean ok = SignatureCheck.verify(key, algorithm, hex(t, "msg"), hex(t, "sig"));
        String result = t.get("result").asText();
        if (result.equals("valid")) {
          valid++;
          if (!ok) {
            wrong.add("valid " + t.get("tcId") + " refused: " + t.get("comment").asText());
          }
        } else if (result.equals("invalid")) {
          invalid++;
          if (ok) {
            wrong.add("invalid " + t.get("tcId") + " accepted: " + t.get("comment").asText());
          }
        }
      }
    }
    assertEquals(List.of(), wrong);
    assertTrue(valid > 0 && invalid > 0, "vectors of both kinds ran");
    System.out.printf("wycheproof %s through SignatureCheck (%s): %d valid accepted, %d invalid refused%n", file,
        SignatureCheck.nativeProvider(), valid, invalid);
  }

  private static byte[] hex(JsonNode node, String field) {
    return HexFormat.of().parseHex(node.get(field).asText());
  }
}
