package dev.keywarden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * Audit log files are untrusted input to the verifier. Whatever the bytes, it returns a verdict and never throws;
 * a verdict of intact means every line chained and every checkpoint verified, and a problem names a line within the
 * input. Seeds: a closed log, an open one and a continuing one, signed by the Ed25519 key below (its private half was
 * thrown away after signing them).
 */
class AuditVerifierFuzzTest {
  private static final PublicKey KEY = key("MCowBQYDK2VwAyEAKtjonnS9nA44XnQmMFVoJV6M15gCDL3bbj36qfV08OQ=");

  @FuzzTest
  void anyBytesAreVerifiedOrReported(byte[] log) {
    for (boolean requireClosed : new boolean[] {false, true}) {
      Verification v = AuditVerifier.verify("fuzz", log, KEY, requireClosed);
      assertNotNull(v.summary());
      long lines = 1;
      for (byte b : log) {
        if (b == '\n') {
          lines++;
        }
      }
      if (v.intact()) {
        assertTrue(v.records() < lines, v.summary());
        assertEquals(v.records() == 0 ? 0 : v.records() + v.firstSeq() - 1, v.lastSeq());
      } else {
        assertTrue(v.problem().line() >= 0 && v.problem().line() <= lines, v.summary());
      }
    }
  }

  private static PublicKey key(String spki) {
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(Base64.getDecoder()
          .decode(spki)));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
