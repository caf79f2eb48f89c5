package dev.keywarden.hsm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** What every {@link HsmProvider} and its {@link HsmSigner} key pairs must do; one subclass per implementation. */
public abstract class HsmSignerContract {

  private static final BouncyCastleProvider BC = new BouncyCastleProvider();
  private static final byte[] TBS = "tbsCertificate: CN=Keywarden Test CA".getBytes(StandardCharsets.UTF_8);

  private HsmProvider provider;
  private char[] pin;
  private Hsm hsm;
  private final Random random = new Random(11);

  /** A provider for a fresh, empty HSM. */
  protected abstract HsmProvider newProvider();

  /** The PIN that opens it. */
  protected abstract char[] pin();

  @BeforeEach
  void openHsm() {
    provider = newProvider();
    pin = pin();
    hsm = provider.open(pin);
  }

  @AfterEach
  void closeHsm() {
    if (hsm != null) {
      hsm.close();
    }
    Arrays.fill(pin, '\0');
  }

  /** The open HSM, for subclasses' own tests. */
  protected Hsm hsm() {
    return hsm;
  }

  // RSA-4096 generation is slow on SoftHSM2: it has its own test below.
  @ParameterizedTest
  @EnumSource(value = KeyPairAlgorithm.class, names = "RSA_4096", mode = EnumSource.Mode.EXCLUDE)
  void everyFittingSignatureVerifiesWithTheJdkAndBouncyCastleOnlyForItsKeyAndMessage(KeyPairAlgorithm algorithm)
      throws Exception {
    HsmSigner signer = hsm.signer(hsm.generateKeyPair("pair-" + algorithm, algorithm));
    HsmSigner other = hsm.signer(hsm.generateKeyPair("other-" + algorithm, algorithm));
    assertEquals(algorithm, signer.algorithm());
    assertNotEquals(signer.publicKey(), other.publicKey());
    int fitting = 0;
    for (SignatureAlgorithm signature : SignatureAlgorithm.values()) {
      if (!signature.fits(algorithm)) {
        continue;
      }
      fitting++;
      for (byte[] message : new byte[][] {TBS, randomBytes(1), randomBytes(5000)}) {
        byte[] sig = signer.sign(signature, message);
        String what = algorithm + "/" + signature + ", " + message.length + "-byte message";
        assertTrue(verifiesWithJdk(signature, signer.publicKey(), message, sig), what + " (JDK)");
        assertTrue(verifiesWithBouncyCastle(signature, algorithm, signer.publicKey(), message, sig), what + " (BC)");
        assertFalse(verifiesWithJdk(signature, other.publicKey(), message, sig), what + " under another key");
        assertFalse(verifiesWithBouncyCastle(signature, algorithm, other.publicKey(), message, sig),
            what + " under another key (BC)");
        byte[] altered = Arrays.copyOf(message, message.length + 1);
        assertFalse(verifiesWithJdk(signature, signer.publicKey(), altered, sig), what + " for another message");
        assertFalse(verifiesWithBouncyCastle(signature, algorithm, signer.publicKey(), altered, sig),
            what + " for another message (BC)");
      }
    }
    assertEquals(algorithm.family() == KeyPairAlgorithm.Family.EDDSA ? 1 : algorithm.family()
        == KeyPairAlgorithm.Family.EC ? 3 : 6, fitting);
  }

  @Test
  void rsa4096SignsWithEveryRsaAlgorithm() throws Exception {
    HsmSigner signer = hsm.signer(hsm.generateKeyPair("rsa-4096", KeyPairAlgorithm.RSA_4096));
    assertEquals(4096, ((java.security.interfaces.RSAPublicKey) signer.publicKey()).getModulus().bitLength());
    for (SignatureAlgorithm signature : SignatureAlgorithm.values()) {
      if (signature.fits(KeyPairAlgorithm.RSA_4096)) {
        byte[] sig = signer.sign(signature, TBS);
        assertEquals(512, sig.length);
        assertTrue(verifiesWithJdk(signature, signer.publicKey(), TBS, sig), signature.toString());
        assertTrue(verifiesWithBouncyCastle(signature, KeyPairAlgorithm.RSA_4096, signer.publicKey(), TBS, sig),
            signature.toString());
      }
    }
  }

  @Test
  void publicKeysAreStandardJcaKeys() throws Exception {
    for (KeyPairAlgorithm algorithm : List.of(KeyPairAlgorithm.EC_P384, KeyPairAlgorithm.ED25519,
        KeyPairAlgorithm.RSA_2048)) {
      PublicKey key = hsm.signer(hsm.generateKeyPair("jca-" + algorithm, algorithm)).publicKey();
      assertEquals("X.509", key.getFormat());
      PublicKey decoded = KeyFactory.getInstance(jcaKeyAlgorithm(algorithm))
          .generatePublic(new X509EncodedKeySpec(key.getEncoded()));
      assertArrayEquals(key.getEncoded(), decoded.getEncoded(), algorithm.toString());
    }
  }

  @Test
  void aSignatureAlgorithmThatDoesNotFitTheKeyOrAnEmptyMessageIsInvalidArgument() {
    HsmSigner ec = hsm.signer(hsm.generateKeyPair("ec", KeyPairAlgorithm.EC_P256));
    HsmSigner ed = hsm.signer(hsm.generateKeyPair("ed", KeyPairAlgorithm.ED25519));
    HsmSigner rsa = hsm.signer(hsm.generateKeyPair("rsa", KeyPairAlgorithm.RSA_2048));
    assertWrongAlgorithm(ec, SignatureAlgorithm.RSA_PSS_SHA256);
    assertWrongAlgorithm(ec, SignatureAlgorithm.ED25519);
    assertWrongAlgorithm(ed, SignatureAlgorithm.ECDSA_SHA256);
    assertWrongAlgorithm(ed, SignatureAlgorithm.RSA_PKCS1_SHA256);
    assertWrongAlgorithm(rsa, SignatureAlgorithm.ECDSA_SHA384);
    assertWrongAlgorithm(rsa, SignatureAlgorithm.ED25519);
    assertEquals(Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class, () -> ec.sign(null, TBS)).kind());
    assertEquals(Kind.INVALID_ARGUMENT,
        assertThrows(KeywardenException.class, () -> ec.sign(SignatureAlgorithm.ECDSA_SHA256, null)).kind());
    for (HsmSigner signer : List.of(ec, ed, rsa)) {
      SignatureAlgorithm fitting = signer == ec ? SignatureAlgorithm.ECDSA_SHA256
          : signer == ed ? SignatureAlgorithm.ED25519 : SignatureAlgorithm.RSA_PKCS1_SHA256;
      KeywardenException e = assertThrows(KeywardenException.class, () -> signer.sign(fitting, new byte[0]));
      assertEquals(Kind.INVALID_ARGUMENT, e.kind());
      assertEquals("message to sign is empty", e.getMessage());
    }
  }

  @Test
  void eightThreadsSigningConcurrentlyAllVerify() throws Exception {
    HsmSigner ec = hsm.signer(hsm.generateKeyPair("concurrent-ec", KeyPairAlgorithm.EC_P256));
    HsmSigner ed = hsm.signer(hsm.generateKeyPair("concurrent-ed", KeyPairAlgorithm.ED25519));
    int threads = 8;
    int rounds = 50;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Integer>> results = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        int seed = t;
        results.add(pool.submit(() -> {
          Random local = new Random(seed);
          start.await();
          int verified = 0;
          for (int i = 0; i < rounds; i++) {
            byte[] message = new byte[1 + local.nextInt(200)];
            local.nextBytes(message);
            HsmSigner signer = local.nextBoolean() ? ec : ed;
            SignatureAlgorithm signature = signer == ec ? SignatureAlgorithm.ECDSA_SHA256 : SignatureAlgorithm.ED25519;
            if (verifiesWithJdk(signature, signer.publicKey(), message, signer.sign(signature, message))) {
              verified++;
            }
          }
          return verified;
        }));
      }
      start.countDown();
      for (Future<Integer> result : results) {
        assertEquals(rounds, result.get(120, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aDestroyedKeyPairIsGone() {
    HsmSigner signer = hsm.signer(hsm.generateKeyPair("doomed", KeyPairAlgorithm.EC_P256));
    HsmKeyId id = signer.id();
    hsm.destroyKey(id);
    KeywardenException e = assertThrows(KeywardenException.class, () -> hsm.signer(id));
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().contains("no longer holds key '" + id.label() + "' (id " + id.idHex() + ")"),
        e.getMessage());
    assertEquals(Kind.FAILED_PRECONDITION,
        assertThrows(KeywardenException.class, () -> signer.sign(SignatureAlgorithm.ECDSA_SHA256, TBS)).kind());
    assertEquals(Kind.NOT_FOUND, assertThrows(KeywardenException.class, () -> hsm.destroyKey(id)).kind());
  }

  @Test
  void destroyingOneKeyPairLeavesTheOthersAndFreesItsLabel() throws Exception {
    HsmSigner survivor = hsm.signer(hsm.generateKeyPair("survivor", KeyPairAlgorithm.ED25519));
    HsmKeyId first = hsm.generateKeyPair("reused", KeyPairAlgorithm.EC_P256);
    hsm.destroyKey(first);
    byte[] sig = survivor.sign(SignatureAlgorithm.ED25519, TBS);
    assertTrue(verifiesWithJdk(SignatureAlgorithm.ED25519, survivor.publicKey(), TBS, sig));
    assertEquals(survivor.publicKey(), hsm.signer(survivor.id()).publicKey());
    HsmKeyId second = hsm.generateKeyPair("reused", KeyPairAlgorithm.EC_P256);
    assertNotEquals(first.idHex(), second.idHex());
    HsmSigner reused = hsm.signer(second);
    assertTrue(verifiesWithJdk(SignatureAlgorithm.ECDSA_SHA256, reused.publicKey(), TBS,
        reused.sign(SignatureAlgorithm.ECDSA_SHA256, TBS)));
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.signer(first)).kind());
  }

  @Test
  void signingAfterCloseFailsAsSealed() {
    HsmSigner signer = hsm.signer(hsm.generateKeyPair("sealed", KeyPairAlgorithm.EC_P256));
    HsmKeyId id = signer.id();
    hsm.close();
    assertEquals(Kind.FAILED_PRECONDITION,
        assertThrows(KeywardenException.class, () -> signer.sign(SignatureAlgorithm.ECDSA_SHA256, TBS)).kind());
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.signer(id)).kind());
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class,
        () -> hsm.generateKeyPair("late", KeyPairAlgorithm.EC_P256)).kind());
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.destroyKey(id)).kind());
    assertEquals("sealed", signer.id().label(), "the public half stays readable");
  }

  @Test
  void reopeningFindsTheSameKeyPair() throws Exception {
    HsmSigner signer = hsm.signer(hsm.generateKeyPair("durable", KeyPairAlgorithm.EC_P256));
    PublicKey publicKey = signer.publicKey();
    hsm.close();
    char[] again = pin();
    Hsm reopened = provider.open(again);
    Arrays.fill(again, '\0');
    try {
      HsmSigner found = reopened.signer(signer.id());
      assertEquals(publicKey, found.publicKey());
      assertTrue(verifiesWithJdk(SignatureAlgorithm.ECDSA_SHA384, publicKey, TBS,
          found.sign(SignatureAlgorithm.ECDSA_SHA384, TBS)));
    } finally {
      reopened.close();
    }
    hsm = provider.open(pin);
  }

  @Test
  void generatingTwoKeysWithOneLabelIsAlreadyExists() {
    hsm.generateKeyPair("twice", KeyPairAlgorithm.EC_P256);
    assertEquals(Kind.ALREADY_EXISTS, assertThrows(KeywardenException.class,
        () -> hsm.generateKeyPair("twice", KeyPairAlgorithm.EC_P256)).kind());
    assertEquals(Kind.ALREADY_EXISTS, assertThrows(KeywardenException.class,
        () -> hsm.generateKeyPair("twice", KeyPairAlgorithm.ED25519)).kind());
    assertEquals(Kind.ALREADY_EXISTS, assertThrows(KeywardenException.class, () -> hsm.generateAesKey("twice")).kind());
    assertEquals(Kind.ALREADY_EXISTS, assertThrows(KeywardenException.class, () -> hsm.generateKek("twice")).kind());
    hsm.generateAesKey("aes-label");
    assertEquals(Kind.ALREADY_EXISTS, assertThrows(KeywardenException.class,
        () -> hsm.generateKeyPair("aes-label", KeyPairAlgorithm.EC_P256)).kind());
    assertEquals(Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class,
        () -> hsm.generateKeyPair(" ", KeyPairAlgorithm.EC_P256)).kind());
    assertEquals(Kind.INVALID_ARGUMENT, assertThrows(KeywardenException.class,
        () -> hsm.generateKeyPair("no-algorithm", null)).kind());
  }

  @Test
  void anAesKeyIsNoSigner() {
    HsmKeyId aes = hsm.generateAesKey("not-a-pair");
    assertEquals(Kind.FAILED_PRECONDITION, assertThrows(KeywardenException.class, () -> hsm.signer(aes)).kind());
  }

  @Test
  void toStringsHoldNoPin() {
    String secret = new String(pin);
    HsmSigner signer = hsm.signer(hsm.generateKeyPair("printable", KeyPairAlgorithm.EC_P256));
    for (Object o : List.of(hsm, signer, signer.id())) {
      assertFalse(o.toString().contains(secret), o.getClass().getSimpleName() + ".toString() shows the PIN");
    }
  }

  private static void assertWrongAlgorithm(HsmSigner signer, SignatureAlgorithm signature) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> signer.sign(signature, TBS));
    assertEquals(Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains(signature.name()) && e.getMessage().contains(signer.algorithm().name()),
        e.getMessage());
  }

  /** Verifies with the JDK's own providers. */
  protected static boolean verifiesWithJdk(SignatureAlgorithm signature, PublicKey key, byte[] message, byte[] sig)
      throws GeneralSecurityException {
    Signature verifier = signature.isPss() ? signature.newJdkSignature() : Signature.getInstance(signature.jcaName());
    verifier.initVerify(key);
    verifier.update(message);
    try {
      return verifier.verify(sig);
    } catch (java.security.SignatureException e) {
      return false;
    }
  }

  /** Verifies with Bouncy Castle by the JCA name alone, with the key decoded by Bouncy Castle from its encoding. */
  protected static boolean verifiesWithBouncyCastle(SignatureAlgorithm signature, KeyPairAlgorithm algorithm,
      PublicKey key, byte[] message, byte[] sig) throws GeneralSecurityException {
    PublicKey bcKey = KeyFactory.getInstance(jcaKeyAlgorithm(algorithm), BC)
        .generatePublic(new X509EncodedKeySpec(key.getEncoded()));
    Signature verifier = Signature.getInstance(signature.jcaName(), BC);
    verifier.initVerify(bcKey);
    verifier.update(message);
    try {
      return verifier.verify(sig);
    } catch (java.security.SignatureException e) {
      return false;
    }
  }

  private static String jcaKeyAlgorithm(KeyPairAlgorithm algorithm) {
    return switch (algorithm.family()) {
      case EC -> "EC";
      case EDDSA -> "Ed25519";
      case RSA -> "RSA";
    };
  }

  private byte[] randomBytes(int length) {
    byte[] b = new byte[length];
    random.nextBytes(b);
    return b;
  }
}
