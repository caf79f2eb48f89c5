package dev.keywarden.transit.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.transit.KeyType;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class SignaturesTest {

  private static final byte[] MESSAGE = "sign me, keywarden".getBytes(StandardCharsets.UTF_8);
  private static final Map<KeyType, byte[]> PKCS8 = new EnumMap<>(KeyType.class);
  private static final Map<KeyType, byte[]> OTHER_PKCS8 = new EnumMap<>(KeyType.class);

  @BeforeAll
  static void generateKeys() {
    SecureRandom random = new SecureRandom();
    for (KeyType type : signingTypes()) {
      PKCS8.put(type, KeyGeneration.generate(type, random));
      if (type != KeyType.RSA_3072 && type != KeyType.RSA_4096) {
        OTHER_PKCS8.put(type, KeyGeneration.generate(type, random));
      }
    }
  }

  static List<KeyType> signingTypes() {
    return Arrays.stream(KeyType.values()).filter(t -> t.family() == KeyType.Family.SIGNING).toList();
  }

  static Stream<Arguments> everyTypeAndOption() {
    List<Arguments> all = new ArrayList<>();
    for (KeyType type : signingTypes()) {
      for (HashAlgorithm hash : HashAlgorithm.values()) {
        for (boolean prehashed : new boolean[] {false, true}) {
          for (RsaPadding padding : RsaPadding.values()) {
            for (SignatureEncoding encoding : SignatureEncoding.values()) {
              if (type == KeyType.ED25519 && prehashed) {
                continue;
              }
              all.add(Arguments.of(type, new SignatureOptions(hash, prehashed, padding, encoding)));
            }
          }
        }
      }
    }
    return all.stream();
  }

  private static byte[] input(SignatureOptions options) throws Exception {
    return options.prehashed() ? MessageDigest.getInstance(options.hash().jcaName()).digest(MESSAGE) : MESSAGE;
  }

  private static SignatureOptions flipPrehashed(SignatureOptions o) {
    return new SignatureOptions(o.hash(), !o.prehashed(), o.rsaPadding(), o.encoding());
  }

  @ParameterizedTest
  @MethodSource("everyTypeAndOption")
  void signaturesVerifyWithTheSameOptionsAndMatchPrehashedAndPlainForms(KeyType type, SignatureOptions options)
      throws Exception {
    SigningKey signer = Signatures.signingKey(type, PKCS8.get(type));
    VerifyingKey verifier = Signatures.verifyingKey(type, signer.publicKeyDer());
    byte[] input = input(options);
    byte[] signature = signer.sign(input, options);
    assertTrue(verifier.verify(input, signature, options));
    byte[] changed = input.clone();
    changed[0] ^= 1;
    assertFalse(verifier.verify(changed, signature, options));
    if (type != KeyType.ED25519) {
      // A signature over the digest is the same kind of signature as one over the message.
      SignatureOptions other = flipPrehashed(options);
      assertTrue(verifier.verify(input(other), signature, other), "prehashed and plain forms agree");
      byte[] otherSignature = signer.sign(input(other), other);
      assertTrue(verifier.verify(input, otherSignature, options), "prehashed and plain forms agree");
    }
  }

  @ParameterizedTest
  @MethodSource("everyTypeAndOption")
  void aSignatureByOneKeyFailsUnderAnother(KeyType type, SignatureOptions options) throws Exception {
    if (!OTHER_PKCS8.containsKey(type)) {
      return;
    }
    SigningKey signer = Signatures.signingKey(type, PKCS8.get(type));
    VerifyingKey other = Signatures.verifyingKey(type, Signatures.signingKey(type, OTHER_PKCS8.get(type)).publicKeyDer());
    assertFalse(other.verify(input(options), signer.sign(input(options), options), options));
  }

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"ECDSA_P256", "ECDSA_P384"})
  void ecdsaDerAndJwsVerifyOnlyInTheirOwnEncodingAndJwsHasFixedLength(KeyType type) {
    SigningKey signer = Signatures.signingKey(type, PKCS8.get(type));
    VerifyingKey verifier = Signatures.verifyingKey(type, signer.publicKeyDer());
    SignatureOptions der = new SignatureOptions(HashAlgorithm.SHA2_256, false, RsaPadding.PSS, SignatureEncoding.DER);
    SignatureOptions jws = new SignatureOptions(HashAlgorithm.SHA2_256, false, RsaPadding.PSS, SignatureEncoding.JWS);
    int expected = type == KeyType.ECDSA_P256 ? 64 : 96;
    for (int i = 0; i < 50; i++) {
      byte[] derSig = signer.sign(MESSAGE, der);
      byte[] jwsSig = signer.sign(MESSAGE, jws);
      assertEquals(expected, jwsSig.length);
      assertEquals(0x30, derSig[0] & 0xff);
      assertTrue(verifier.verify(MESSAGE, derSig, der));
      assertTrue(verifier.verify(MESSAGE, jwsSig, jws));
      assertFalse(verifier.verify(MESSAGE, derSig, jws));
      assertFalse(verifier.verify(MESSAGE, jwsSig, der));
    }
  }

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"ECDSA_P256", "ECDSA_P384"})
  void ecdsaSignaturesVerifyWithTheJdksOwnEcdsa(KeyType type) throws Exception {
    SigningKey signer = Signatures.signingKey(type, PKCS8.get(type));
    PublicKey jdkKey = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(signer.publicKeyDer()));
    for (HashAlgorithm hash : HashAlgorithm.values()) {
      String suffix = "with" + "ECDSA";
      Signature der = Signature.getInstance(hash.jcaPrefix() + suffix, "SunEC");
      der.initVerify(jdkKey);
      der.update(MESSAGE);
      assertTrue(der.verify(signer.sign(MESSAGE,
          new SignatureOptions(hash, false, RsaPadding.PSS, SignatureEncoding.DER))), hash + " DER");
      Signature p1363 = Signature.getInstance(hash.jcaPrefix() + suffix + "inP1363Format", "SunEC");
      p1363.initVerify(jdkKey);
      p1363.update(MESSAGE);
      assertTrue(p1363.verify(signer.sign(MESSAGE,
          new SignatureOptions(hash, false, RsaPadding.PSS, SignatureEncoding.JWS))), hash + " JWS");
    }
  }

  @Test
  void ed25519SignaturesVerifyWithTheJdksOwnEd25519() throws Exception {
    SigningKey signer = Signatures.signingKey(KeyType.ED25519, PKCS8.get(KeyType.ED25519));
    PublicKey jdkKey = KeyFactory.getInstance("Ed25519", "SunEC")
        .generatePublic(new X509EncodedKeySpec(signer.publicKeyDer()));
    for (byte[] message : new byte[][] {new byte[0], MESSAGE, new byte[10_000]}) {
      byte[] sig = signer.sign(message, SignatureOptions.defaults());
      assertEquals(64, sig.length);
      Signature jdk = Signature.getInstance("Ed25519", "SunEC");
      jdk.initVerify(jdkKey);
      jdk.update(message);
      assertTrue(jdk.verify(sig));
    }
  }

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"RSA_2048"})
  void rsaSignaturesVerifyWithTheJdksOwnRsa(KeyType type) throws Exception {
    SigningKey signer = Signatures.signingKey(type, PKCS8.get(type));
    PublicKey jdkKey = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(signer.publicKeyDer()));
    for (HashAlgorithm hash : HashAlgorithm.values()) {
      Signature pkcs1 = Signature.getInstance(hash.jcaPrefix() + "withRSA", "SunRsaSign");
      pkcs1.initVerify(jdkKey);
      pkcs1.update(MESSAGE);
      assertTrue(pkcs1.verify(signer.sign(MESSAGE,
          new SignatureOptions(hash, false, RsaPadding.PKCS1V15, SignatureEncoding.DER))), hash + " PKCS1");
      Signature pss = Signature.getInstance("RSASSA-PSS", "SunRsaSign");
      pss.setParameter(new java.security.spec.PSSParameterSpec(hash.jcaName(), "MGF1",
          new java.security.spec.MGF1ParameterSpec(hash.jcaName()), hash.length(), 1));
      pss.initVerify(jdkKey);
      pss.update(MESSAGE);
      assertTrue(pss.verify(signer.sign(MESSAGE,
          new SignatureOptions(hash, false, RsaPadding.PSS, SignatureEncoding.DER))), hash + " PSS");
    }
  }

  @Test
  void ed25519RefusesPrehashedInput() {
    SigningKey signer = Signatures.signingKey(KeyType.ED25519, PKCS8.get(KeyType.ED25519));
    VerifyingKey verifier = Signatures.verifyingKey(KeyType.ED25519, signer.publicKeyDer());
    SignatureOptions prehashed = flipPrehashed(SignatureOptions.defaults());
    assertInvalid(() -> signer.sign(new byte[32], prehashed));
    assertInvalid(() -> verifier.verify(new byte[32], new byte[64], prehashed));
  }

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"ECDSA_P256", "ECDSA_P384", "RSA_2048"})
  void prehashedInputOfTheWrongLengthIsRefused(KeyType type) {
    SigningKey signer = Signatures.signingKey(type, PKCS8.get(type));
    VerifyingKey verifier = Signatures.verifyingKey(type, signer.publicKeyDer());
    for (HashAlgorithm hash : HashAlgorithm.values()) {
      SignatureOptions options = new SignatureOptions(hash, true, RsaPadding.PKCS1V15, SignatureEncoding.DER);
      for (int length : new int[] {0, hash.length() - 1, hash.length() + 1, 20}) {
        byte[] input = new byte[length];
        assertInvalid(() -> signer.sign(input, options));
        assertInvalid(() -> verifier.verify(input, new byte[8], options));
      }
    }
  }

  @ParameterizedTest
  @MethodSource("signingTypes")
  void malformedSignaturesAreFalseNotExceptions(KeyType type) {
    VerifyingKey verifier = Signatures.verifyingKey(type,
        Signatures.signingKey(type, PKCS8.get(type)).publicKeyDer());
    for (SignatureEncoding encoding : SignatureEncoding.values()) {
      for (RsaPadding padding : RsaPadding.values()) {
        SignatureOptions options = new SignatureOptions(HashAlgorithm.SHA2_256, false, padding, encoding);
        for (byte[] sig : new byte[][] {new byte[0], new byte[1], new byte[64], new byte[96], new byte[256],
            new byte[1000], {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00}, null}) {
          assertFalse(verifier.verify(MESSAGE, sig, options));
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("signingTypes")
  void publicKeyPemIsTheDerInArmour(KeyType type) {
    SigningKey signer = Signatures.signingKey(type, PKCS8.get(type));
    String pem = signer.publicKeyPem();
    assertTrue(pem.startsWith("-----BEGIN PUBLIC KEY-----\n"));
    assertTrue(pem.endsWith("\n-----END PUBLIC KEY-----\n"));
    String body = pem.replace("-----BEGIN PUBLIC KEY-----", "").replace("-----END PUBLIC KEY-----", "");
    assertTrue(body.lines().allMatch(l -> l.length() <= 64));
    assertArrayEquals(signer.publicKeyDer(), Base64.getMimeDecoder().decode(body));
  }

  @Test
  void keysOfTheWrongTypeAreRefused() {
    assertInvalid(() -> Signatures.signingKey(KeyType.ECDSA_P384, PKCS8.get(KeyType.ECDSA_P256)));
    assertInvalid(() -> Signatures.signingKey(KeyType.ECDSA_P256, PKCS8.get(KeyType.ED25519)));
    assertInvalid(() -> Signatures.signingKey(KeyType.RSA_3072, PKCS8.get(KeyType.RSA_2048)));
    assertInvalid(() -> Signatures.signingKey(KeyType.ED25519, PKCS8.get(KeyType.RSA_2048)));
    assertInvalid(() -> Signatures.signingKey(KeyType.AES256_GCM96, PKCS8.get(KeyType.RSA_2048)));
    byte[] p256Public = Signatures.signingKey(KeyType.ECDSA_P256, PKCS8.get(KeyType.ECDSA_P256)).publicKeyDer();
    assertInvalid(() -> Signatures.verifyingKey(KeyType.ECDSA_P384, p256Public));
    assertInvalid(() -> Signatures.verifyingKey(KeyType.RSA_2048, p256Public));
    assertInvalid(() -> Signatures.verifyingKey(KeyType.ED25519, p256Public));
    byte[] rsaPublic = Signatures.signingKey(KeyType.RSA_2048, PKCS8.get(KeyType.RSA_2048)).publicKeyDer();
    assertInvalid(() -> Signatures.verifyingKey(KeyType.RSA_4096, rsaPublic));
    assertInvalid(() -> Signatures.signingKey(KeyType.ECDSA_P256, new byte[] {0x30, 0x00}));
    assertInvalid(() -> Signatures.verifyingKey(KeyType.ECDSA_P256, new byte[] {1, 2, 3}));
  }

  @Test
  void oneSigningKeyServesManyThreads() throws Exception {
    for (KeyType type : List.of(KeyType.ECDSA_P256, KeyType.ED25519)) {
      SigningKey signer = Signatures.signingKey(type, PKCS8.get(type));
      VerifyingKey verifier = Signatures.verifyingKey(type, signer.publicKeyDer());
      List<Thread> threads = new ArrayList<>();
      List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      for (int t = 0; t < 4; t++) {
        Thread thread = new Thread(() -> {
          try {
            for (int i = 0; i < 200; i++) {
              byte[] message = ("m" + i).getBytes(StandardCharsets.UTF_8);
              assertTrue(verifier.verify(message, signer.sign(message, SignatureOptions.defaults()),
                  SignatureOptions.defaults()));
            }
          } catch (Throwable e) {
            failures.add(e);
          }
        });
        threads.add(thread);
        thread.start();
      }
      for (Thread thread : threads) {
        thread.join();
      }
      assertTrue(failures.isEmpty(), failures.toString());
    }
  }

  static void assertInvalid(org.junit.jupiter.api.function.Executable call) {
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class, call).kind());
  }
}
