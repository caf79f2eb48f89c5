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
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;

/**
 * A Bouncy Castle {@link ContentSigner} whose key stays in the HSM: the content (a TBS certificate, CRL or OCSP
 * response) is collected here and signed with one PKCS#11 call. One instance signs one thing, as BC expects. A leaf
 * certificate, whose TBS is written without Bouncy Castle, is signed with {@link #sign(byte[])} instead.
 */
public final class HsmContentSigner implements ContentSigner {
  /** Each algorithm's identifier, DER, found once (the finder upper-cases and looks up a name per call). */
  private static final Map<SignatureAlgorithm, byte[]> IDENTIFIERS = identifiers();

  private final HsmSigner signer;
  private final SignatureAlgorithm algorithm;
  private final byte[] identifierDer;
  /** Made when Bouncy Castle asks: a leaf's issuance needs neither. */
  private AlgorithmIdentifier identifier;
  private ByteArrayOutputStream content;

  /** Signs with {@code signer}'s key using {@code algorithm} (which must fit the key). */
  public HsmContentSigner(HsmSigner signer, SignatureAlgorithm algorithm) {
    this.signer = signer;
    this.algorithm = algorithm;
    this.identifierDer = IDENTIFIERS.get(algorithm);
    if (identifierDer == null) {
      throw new IllegalArgumentException("X.509 has no signature algorithm identifier for " + algorithm);
    }
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

  /** The signature algorithm's X.509 identifier, DER; a copy. */
  byte[] identifierDer() {
    return identifierDer.clone();
  }

  /** Signs {@code content} in the HSM: one PKCS#11 call. */
  byte[] sign(byte[] content) {
    return signer.sign(algorithm, content);
  }

  @Override
  public AlgorithmIdentifier getAlgorithmIdentifier() {
    if (identifier == null) {
      identifier = AlgorithmIdentifier.getInstance(identifierDer);
    }
    return identifier;
  }

  @Override
  public OutputStream getOutputStream() {
    if (content == null) {
      content = new ByteArrayOutputStream(1024);
    }
    return content;
  }

  @Override
  public byte[] getSignature() {
    return sign(collected());
  }

  private byte[] collected() {
    return content == null ? new byte[0] : content.toByteArray();
  }
}
