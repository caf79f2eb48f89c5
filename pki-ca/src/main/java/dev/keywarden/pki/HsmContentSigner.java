package dev.keywarden.pki;

import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;

/**
 * A Bouncy Castle {@link ContentSigner} whose key stays in the HSM: the content (a TBS certificate, CRL or OCSP
 * response) is collected here and signed with one PKCS#11 call. One instance signs one thing, as BC expects.
 */
public final class HsmContentSigner implements ContentSigner {
  private final HsmSigner signer;
  private final SignatureAlgorithm algorithm;
  private final AlgorithmIdentifier identifier;
  private final ByteArrayOutputStream content = new ByteArrayOutputStream(1024);

  /** Signs with {@code signer}'s key using {@code algorithm} (which must fit the key). */
  public HsmContentSigner(HsmSigner signer, SignatureAlgorithm algorithm) {
    this.signer = signer;
    this.algorithm = algorithm;
    this.identifier = new DefaultSignatureAlgorithmIdentifierFinder().find(algorithm.jcaName());
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
    return signer.sign(algorithm, content.toByteArray());
  }
}
