package dev.keywarden.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The client's TLS from PEM files with the JDK alone: trust the CA certificate(s), and present a client certificate
 * chain with its key when given. Plain JDK so a client call loads no TLS library; keys in other PEM forms than
 * PKCS#8 (OpenSSL's "EC PRIVATE KEY" and "RSA PRIVATE KEY") go through Bouncy Castle, as they did before.
 */
final class ClientTls {
  private static final Pattern PEM_BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");
  private static final List<String> KEY_ALGORITHMS = List.of("EC", "RSA", "Ed25519", "Ed448", "RSASSA-PSS");

  private ClientTls() {}

  /** A socket factory trusting the certificates in {@code ca}, presenting {@code cert} with {@code key} if not null. */
  static SSLSocketFactory socketFactory(Path ca, Path cert, Path key) throws IOException, GeneralSecurityException {
    KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
    trusted.load(null, null);
    List<X509Certificate> authorities = certificates(ca);
    for (int i = 0; i < authorities.size(); i++) {
      trusted.setCertificateEntry("ca-" + i, authorities.get(i));
    }
    TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(trusted);
    KeyManager[] identity = null;
    if (cert != null) {
      List<X509Certificate> chain = certificates(cert);
      identity = new KeyManager[] {new Identity(chain.toArray(X509Certificate[]::new), privateKey(key))};
    }
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(identity, trust.getTrustManagers(), null);
    return context.getSocketFactory();
  }

  /** Every certificate in a PEM (or DER) file; at least one. */
  static List<X509Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
    Collection<? extends Certificate> read;
    try (InputStream in = Files.newInputStream(file)) {
      read = CertificateFactory.getInstance("X.509").generateCertificates(in);
    }
    if (read.isEmpty()) {
      throw new GeneralSecurityException("no certificate in " + file);
    }
    return read.stream().map(c -> (X509Certificate) c).toList();
  }

  /** The private key in a PEM file: PKCS#8 ("PRIVATE KEY"), or OpenSSL's older forms through Bouncy Castle. */
  static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    Matcher block = PEM_BLOCK.matcher(pem);
    while (block.find()) {
      if (block.group(1).equals("PRIVATE KEY")) {
        byte[] der = Base64.getMimeDecoder().decode(block.group(2));
        try {
          return pkcs8(der);
        } finally {
          Arrays.fill(der, (byte) 0);
        }
      }
      if (block.group(1).endsWith(" PRIVATE KEY") && !block.group(1).startsWith("ENCRYPTED")) {
        return openSslKey(pem);
      }
    }
    throw new GeneralSecurityException("no unencrypted PEM private key (\"BEGIN PRIVATE KEY\") in " + file);
  }

  private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String algorithm : KEY_ALGORITHMS) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (InvalidKeySpecException | java.security.NoSuchAlgorithmException e) {
        // not this algorithm: try the next
      }
    }
    throw new InvalidKeySpecException("the PKCS#8 key is not an EC, RSA or EdDSA key");
  }

  /**
   * OpenSSL's older forms (SEC1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"), parsed by Bouncy Castle into PKCS#8 and
   * made a key by the JDK's own key factories (as {@link #pkcs8}), whatever providers are installed: Bouncy Castle's
   * converter would make an "ECDSA" key of its own when its provider is registered.
   */
  private static PrivateKey openSslKey(String pem) throws IOException, GeneralSecurityException {
    try (Reader in = new java.io.StringReader(pem);
         org.bouncycastle.openssl.PEMParser parser = new org.bouncycastle.openssl.PEMParser(in)) {
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (o instanceof org.bouncycastle.openssl.PEMKeyPair pair) {
          return pkcs8(pair.getPrivateKeyInfo().getEncoded());
        }
        if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo info) {
          return pkcs8(info.getEncoded());
        }
      }
    }
    throw new IOException("no private key that can be read without a password");
  }

  /** Presents the one client certificate chain, for the key types the server accepts. */
  private static final class Identity extends X509ExtendedKeyManager {
    private static final String ALIAS = "client";
    private final X509Certificate[] chain;
    private final PrivateKey key;

    Identity(X509Certificate[] chain, PrivateKey key) {
      this.chain = chain;
      this.key = key;
    }

    private String aliasFor(String[] keyTypes) {
      return keyTypes != null && Arrays.asList(keyTypes).contains(key.getAlgorithm()) ? ALIAS : null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return aliasFor(new String[] {keyType}) == null ? null : new String[] {ALIAS};
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
      return aliasFor(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
      return aliasFor(keyTypes);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return ALIAS.equals(alias) ? key : null;
    }
  }
}
