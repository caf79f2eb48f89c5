package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;

import java.io.IOException;
import java.math.BigInteger;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERSequence;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/** The hand-written DER reader of ECDSA signatures agrees with Bouncy Castle's encoder and refuses what is not DER. */
class CaSignaturesTest {

  private static byte[] der(BigInteger r, BigInteger s) throws IOException {
    ASN1EncodableVector v = new ASN1EncodableVector();
    v.add(new ASN1Integer(r));
    v.add(new ASN1Integer(s));
    return new DERSequence(v).getEncoded();
  }

  private static Gen<BigInteger> positive(int maxBits) {
    return SourceDSL.integers().between(1, maxBits).zip(SourceDSL.longs().all(),
        (bits, seed) -> new BigInteger(bits, new java.util.Random(seed)).add(BigInteger.ONE));
  }

  @Test
  void readsEveryPairBouncyCastleEncodes() {
    qt().withExamples(2_000).forAll(positive(528), positive(528)).checkAssert((r, s) -> {
      try {
        BigInteger[] rs = CaSignatures.derToRs(der(r, s));
        assertEquals(r, rs[0]);
        assertEquals(s, rs[1]);
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void refusesWhatIsNotOneDerSequenceOfTwoPositiveIntegers() throws IOException {
    byte[] good = der(BigInteger.valueOf(5), BigInteger.valueOf(7));
    byte[] trailing = java.util.Arrays.copyOf(good, good.length + 1);
    byte[] truncated = java.util.Arrays.copyOf(good, good.length - 1);
    byte[] negative = der(BigInteger.valueOf(-5), BigInteger.valueOf(7));
    byte[] indefinite = {0x30, (byte) 0x80, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07, 0x00, 0x00};
    byte[] notSequence = {0x31, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07};
    for (byte[] bad : new byte[][] {new byte[0], trailing, truncated, negative, indefinite, notSequence}) {
      assertThrows(IllegalStateException.class, () -> CaSignatures.derToRs(bad));
    }
    qt().withExamples(2_000).forAll(SourceDSL.integers().between(0, 80), SourceDSL.longs().all())
        .checkAssert((n, seed) -> {
          byte[] junk = new byte[n];
          new java.util.Random(seed).nextBytes(junk);
          try {
            CaSignatures.derToRs(junk);
          } catch (IllegalStateException expected) {
            // refused, as it should be
          }
        });
  }
}
