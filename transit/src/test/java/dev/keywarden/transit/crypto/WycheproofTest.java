package dev.keywarden.transit.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.transit.KeyType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Every Wycheproof vector through the classes the service uses: every invalid one refused, every valid one accepted.
 */
class WycheproofTest {

  private static final int NONCE_BITS = 96;
  private static final int TAG_BITS = 128;

  @Test
  void aesGcmVectorsWith96BitNoncesDecideCorrectlyAndOthersAreNotOffered() throws Exception {
    WycheproofVectors.Tally tally = aead("aes_gcm_test.json", Aeads::aesGcm);
    assertEquals(116, tally.validAccepted, tally.toString());
    assertEquals(81, tally.invalidRefused, tally.toString());
    assertEquals(119, tally.skipped, tally.toString());
  }

  @Test
  void chacha20Poly1305VectorsDecideCorrectly() throws Exception {
    WycheproofVectors.Tally tally = aead("chacha20_poly1305_test.json", Aeads::chacha20Poly1305);
    assertEquals(256, tally.validAccepted, tally.toString());
    assertEquals(60, tally.invalidRefused, tally.toString());
    assertEquals(9, tally.skipped, tally.toString());
  }

  private static WycheproofVectors.Tally aead(String file, Function<byte[], Aead> factory) throws Exception {
    JsonNode root = WycheproofVectors.load(file);
    WycheproofVectors.Tally tally = new WycheproofVectors.Tally(file);
    List<String> failures = new ArrayList<>();
    for (JsonNode group : root.get("testGroups")) {
      boolean offered = group.get("ivSize").asInt() == NONCE_BITS && group.get("tagSize").asInt() == TAG_BITS;
      for (JsonNode t : group.get("tests")) {
        byte[] key = WycheproofVectors.hex(t, "key");
        byte[] iv = WycheproofVectors.hex(t, "iv");
        byte[] aad = WycheproofVectors.hex(t, "aad");
        byte[] msg = WycheproofVectors.hex(t, "msg");
        byte[] ct = WycheproofVectors.hex(t, "ct");
        byte[] tag = WycheproofVectors.hex(t, "tag");
        String result = t.get("result").asText();
        Aead aead = factory.apply(key);
        if (!offered) {
          // Only nonce sizes we do not offer: our API cannot even take them.
          assertTrue(iv.length != 12 || tag.length != 16, "skipped a vector we could run: tcId " + t.get("tcId"));
          KeywardenException e = assertThrows(KeywardenException.class, () -> aead.encryptWithNonce(iv, msg, aad));
          assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
          tally.skipped++;
          continue;
        }
        byte[] sealed = concat(iv, ct, tag);
        byte[] opened;
        try {
          opened = aead.decrypt(sealed, aad);
        } catch (KeywardenException e) {
          assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
          assertEquals(JcaAead.AUTHENTICATION_FAILED, e.getMessage());
          opened = null;
        }
        if ("valid".equals(result)) {
          if (opened == null || !Arrays.equals(msg, opened)) {
            failures.add("valid refused: tcId " + t.get("tcId"));
            continue;
          }
          if (!Arrays.equals(sealed, aead.encryptWithNonce(iv, msg, aad))) {
            failures.add("encryption differs: tcId " + t.get("tcId"));
            continue;
          }
          tally.validAccepted++;
        } else if ("invalid".equals(result)) {
          if (opened != null) {
            failures.add("invalid accepted: tcId " + t.get("tcId"));
            continue;
          }
          tally.invalidRefused++;
        } else {
          fail("unexpected result " + result);
        }
      }
    }
    System.out.println(tally);
    assertTrue(failures.isEmpty(), file + ": " + failures);
    return tally;
  }

  static byte[] concat(byte[]... parts) {
    int length = 0;
    for (byte[] p : parts) {
      length += p.length;
    }
    byte[] out = new byte[length];
    int offset = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, offset, p.length);
      offset += p.length;
    }
    return out;
  }

  @Test
  void ecdsaP256DerVectorsDecideCorrectly() throws Exception {
    signatures("ecdsa_secp256r1_sha256_test.json", KeyType.ECDSA_P256,
        options(HashAlgorithm.SHA2_256, RsaPadding.PSS, SignatureEncoding.DER));
  }

  @Test
  void ecdsaP256JwsVectorsDecideCorrectly() throws Exception {
    signatures("ecdsa_secp256r1_sha256_p1363_test.json", KeyType.ECDSA_P256,
        options(HashAlgorithm.SHA2_256, RsaPadding.PSS, SignatureEncoding.JWS));
  }

  @Test
  void ecdsaP384DerVectorsDecideCorrectly() throws Exception {
    signatures("ecdsa_secp384r1_sha384_test.json", KeyType.ECDSA_P384,
        options(HashAlgorithm.SHA2_384, RsaPadding.PSS, SignatureEncoding.DER));
  }

  @Test
  void ecdsaP384JwsVectorsDecideCorrectly() throws Exception {
    signatures("ecdsa_secp384r1_sha384_p1363_test.json", KeyType.ECDSA_P384,
        options(HashAlgorithm.SHA2_384, RsaPadding.PSS, SignatureEncoding.JWS));
  }

  @Test
  void ed25519VectorsDecideCorrectly() throws Exception {
    signatures("ed25519_test.json", KeyType.ED25519, SignatureOptions.defaults());
  }

  @Test
  void rsaPkcs1v15VectorsDecideCorrectly() throws Exception {
    signatures("rsa_signature_2048_sha256_test.json", KeyType.RSA_2048,
        options(HashAlgorithm.SHA2_256, RsaPadding.PKCS1V15, SignatureEncoding.DER));
  }

  @Test
  void rsaPssVectorsDecideCorrectly() throws Exception {
    signatures("rsa_pss_2048_sha256_mgf1_32_test.json", KeyType.RSA_2048,
        options(HashAlgorithm.SHA2_256, RsaPadding.PSS, SignatureEncoding.DER));
  }

  private static SignatureOptions options(HashAlgorithm hash, RsaPadding padding, SignatureEncoding encoding) {
    return new SignatureOptions(hash, false, padding, encoding);
  }

  private static void signatures(String file, KeyType type, SignatureOptions options) throws Exception {
    JsonNode root = WycheproofVectors.load(file);
    WycheproofVectors.Tally tally = new WycheproofVectors.Tally(file);
    List<String> failures = new ArrayList<>();
    List<String> acceptable = new ArrayList<>();
    for (JsonNode group : root.get("testGroups")) {
      if (group.has("sLen")) {
        assertEquals(options.hash().length(), group.get("sLen").asInt(), "PSS salt length");
        assertEquals(group.get("sha").asText(), group.get("mgfSha").asText(), "PSS MGF1 hash");
      }
      VerifyingKey key;
      try {
        key = Signatures.verifyingKey(type, WycheproofVectors.hex(group, "publicKeyDer"));
      } catch (KeywardenException e) {
        key = null; // a refused key refuses all its signatures
      }
      for (JsonNode t : group.get("tests")) {
        byte[] msg = WycheproofVectors.hex(t, "msg");
        byte[] sig = WycheproofVectors.hex(t, "sig");
        boolean accepted = key != null && key.verify(msg, sig, options);
        String result = t.get("result").asText();
        String id = "tcId " + t.get("tcId") + " (" + t.get("comment").asText() + ")";
        switch (result) {
          case "valid":
            if (accepted) {
              tally.validAccepted++;
            } else {
              failures.add("valid refused: " + id);
            }
            break;
          case "invalid":
            if (accepted) {
              failures.add("invalid accepted: " + id);
            } else {
              tally.invalidRefused++;
            }
            break;
          case "acceptable":
            acceptable.add(id + " " + (accepted ? "accepted" : "refused"));
            if (accepted) {
              tally.acceptableAccepted++;
            } else {
              tally.acceptableRefused++;
            }
            break;
          default:
            fail("unexpected result " + result);
        }
      }
    }
    System.out.println(tally + (acceptable.isEmpty() ? "" : " " + acceptable));
    assertTrue(failures.isEmpty(), file + ": " + failures);
    assertTrue(tally.validAccepted > 0 && tally.invalidRefused > 0, tally.toString());
  }

  @Test
  void hmacSha256VectorsDecideCorrectlyAndTruncatedTagsAreRefused() throws Exception {
    JsonNode root = WycheproofVectors.load("hmac_sha256_test.json");
    WycheproofVectors.Tally tally = new WycheproofVectors.Tally("hmac_sha256_test.json");
    int truncatedChecked = 0;
    List<String> failures = new ArrayList<>();
    for (JsonNode group : root.get("testGroups")) {
      int tagBytes = group.get("tagSize").asInt() / 8;
      for (JsonNode t : group.get("tests")) {
        byte[] key = WycheproofVectors.hex(t, "key");
        byte[] msg = WycheproofVectors.hex(t, "msg");
        byte[] tag = WycheproofVectors.hex(t, "tag");
        boolean valid = "valid".equals(t.get("result").asText());
        String id = "tcId " + t.get("tcId");
        if (tagBytes == 32) {
          boolean accepted = Macs.verify(key, HashAlgorithm.SHA2_256, msg, tag);
          if (accepted != valid) {
            failures.add((valid ? "valid refused: " : "invalid accepted: ") + id);
          } else if (valid) {
            tally.validAccepted++;
          } else {
            tally.invalidRefused++;
          }
        } else {
          // Truncated tags: the service never takes them (verify wants full length) but the MAC must still match.
          byte[] full = Macs.hmac(key, HashAlgorithm.SHA2_256, msg);
          boolean prefixMatches = Arrays.equals(Arrays.copyOf(full, tagBytes), tag);
          if (prefixMatches != valid) {
            failures.add("truncated " + id + " mismatch");
          }
          assertFalse(Macs.verify(key, HashAlgorithm.SHA2_256, msg, tag), "truncated tag accepted: " + id);
          truncatedChecked++;
          tally.skipped++;
        }
      }
    }
    System.out.println(tally + " (skipped = truncated-tag vectors: prefix compared, and refused by verify: "
        + truncatedChecked + ")");
    assertTrue(failures.isEmpty(), failures.toString());
  }
}
