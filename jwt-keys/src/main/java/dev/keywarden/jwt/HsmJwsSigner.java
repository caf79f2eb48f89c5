package dev.keywarden.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.impl.ECDSA;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.util.Base64URL;
import dev.keywarden.hsm.SignatureAlgorithm;
import java.util.Set;

/**
 * A Nimbus {@link JWSSigner} whose private key stays where it is (the HSM, or a software key held by the engine):
 * the JWS signing input is signed with one call to {@link Raw}, in JCA encoding, and ECDSA's DER signature becomes the
 * fixed-length r‖s that JWS wants (RFC 7518 section 3.4).
 */
final class HsmJwsSigner implements JWSSigner {
  /** Signs a message the way {@code HsmSigner.sign} does. */
  @FunctionalInterface
  interface Raw {
    byte[] sign(SignatureAlgorithm algorithm, byte[] message);
  }

  private final JwtAlgorithm algorithm;
  private final Raw raw;
  private final JCAContext jca = new JCAContext();

  HsmJwsSigner(JwtAlgorithm algorithm, Raw raw) {
    this.algorithm = algorithm;
    this.raw = raw;
  }

  @Override
  public Base64URL sign(JWSHeader header, byte[] signingInput) throws JOSEException {
    if (!algorithm.jws().equals(header.getAlgorithm())) {
      throw new JOSEException("this key signs " + algorithm.jwsName() + ", not " + header.getAlgorithm());
    }
    byte[] signature = raw.sign(algorithm.signature(), signingInput);
    if (algorithm == JwtAlgorithm.ES256 || algorithm == JwtAlgorithm.ES384) {
      signature = ECDSA.transcodeSignatureToConcat(signature, ECDSA.getSignatureByteArrayLength(algorithm.jws()));
    }
    return Base64URL.encode(signature);
  }

  @Override
  public Set<JWSAlgorithm> supportedJWSAlgorithms() {
    return Set.of(algorithm.jws());
  }

  @Override
  public JCAContext getJCAContext() {
    return jca;
  }

  @Override
  public String toString() {
    return "HsmJwsSigner[" + algorithm.jwsName() + "]";
  }
}
