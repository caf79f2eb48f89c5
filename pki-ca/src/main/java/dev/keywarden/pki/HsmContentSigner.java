package dev.keywarden.pki;

import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.EnumMap;
import java.util.Map;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;

/**
 * A Bouncy Castle {@link ContentSigner} whose key stays in the HSM: the content (a TBS certificate, CRL or OCSP
 * response) is collected here and signed with one PKCS#11 call. One instance signs one thing, as BC expects.
 */
public final class HsmContentSigner implements ContentSigner {
  /** Each algorithm's identifier, DER, found once (the finder upper-cases and looks up a name per call). */
  private static final Map<SignatureAlgorithm, byte[]> IDENTIFIERS = identifiers();

  private final HsmSigner signer;
  private final SignatureAlgorithm algorithm;
  private final AlgorithmIdentifier identifier;
  private final ByteArrayOutputStream content = new ByteArrayOutputStream(1024);
  private byte[] signed;
  private byte[] signature;

  /** Signs with {@code signer}'s key using {@code algorithm} (which must fit the key). */
  public HsmContentSigner(HsmSigner signer, SignatureAlgorithm algorithm) {
    this.signer = signer;
    this.algorithm = algorithm;
    byte[] id = IDENTIFIERS.get(algorithm);
    if (id == null) {
      throw new IllegalArgumentException("X.509 has no signature algorithm identifier for " + algorithm);
    }
    this.identifier = AlgorithmIdentifier.getInstance(id);
  }

  private static Map<SignatureAlgorithm, byte[]> identifiers() {
    Map<SignatureAlgorithm, byte[]> m = new EnumMap<>(SignatureAlgorithm.class);
    for (SignatureAlgorithm a : SignatureAlgorithm.values()) {
      try {
        m.put(a, new DefaultSignatureAlgorithmIdentifierFinder().find(a.jcaName()).getEncoded(ASN1Encoding.DER));
      } catch (IOException | IllegalArgumentException e) {
        // an algorithm X.509 has no identifier for; no CA key signs with it
      }
    }
    return Map.copyOf(m);
  }

  /** The HSM key that signs. */
  public HsmKeyId keyId() {
    return signer.id();
  }

  /** The signature algorithm. */
  public SignatureAlgorithm algorithm() {
    return algorithm;
  }

  @Override
  public AlgorithmIdentifier getAlgorithmIdentifier() {
    return identifier;
  }

  @Override
  public OutputStream getOutputStream() {
    return content;
  }

  @Override
  public byte[] getSignature() {
    signed = content.toByteArray();
    signature = signer.sign(algorithm, signed);
    return signature.clone();
  }

  /**
   * What was just signed as X.509 carries it, DER: SEQUENCE { content, algorithm, BIT STRING signature } (a
   * certificate, a CRL). Made from the bytes that were signed, so the content is not encoded a second time.
   */
  public byte[] signedStructureDer() {
    if (signature == null) {
      throw new IllegalStateException("nothing signed yet");
    }
    try {
      byte[] alg = identifier.getEncoded(ASN1Encoding.DER);
      byte[] sig = new DERBitString(signature).getEncoded(ASN1Encoding.DER);
      int body = signed.length + alg.length + sig.length;
      ByteArrayOutputStream out = new ByteArrayOutputStream(body + 6);
      out.write(0x30); // SEQUENCE
      if (body < 0x80) {
        out.write(body);
      } else {
        int octets = body < 0x100 ? 1 : body < 0x10000 ? 2 : body < 0x1000000 ? 3 : 4;
        out.write(0x80 | octets);
        for (int i = octets - 1; i >= 0; i--) {
          out.write(body >>> (8 * i));
        }
      }
      out.write(signed);
      out.write(alg);
      out.write(sig);
      return out.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException("DER of a signature always encodes", e);
    }
  }
}
