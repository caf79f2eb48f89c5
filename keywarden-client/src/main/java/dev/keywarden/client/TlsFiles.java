package dev.keywarden.client;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.NoSuchAlgorithmException;
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
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/** The client's TLS with the JDK alone: trusted CA certificates and an optional client certificate with its key. */
final class TlsFiles {
  private static final Pattern PRIVATE_KEY = Pattern.compile(
      "-----BEGIN PRIVATE KEY-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END PRIVATE KEY-----");
  private static final List<String> KEY_ALGORITHMS = List.of("EC", "RSA", "Ed25519", "Ed448", "RSASSA-PSS");

  private TlsFiles() {}

  /** A socket factory trusting {@code trusted} (the JDK's default trust when null), presenting the identity if any. */
  static SSLSocketFactory socketFactory(List<X509Certificate> trusted, X509Certificate[] chain, PrivateKey key)
      throws GeneralSecurityException, IOException {
    TrustManager[] trust = null;
    if (trusted != null) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < trusted.size(); i++) {
        store.setCertificateEntry("ca-" + i, trusted.get(i));
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      trust = factory.getTrustManagers();
    }
    KeyManager[] identity = chain == null ? null : new KeyManager[] {new Identity(chain, key)};
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(identity, trust, null);
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

  /** The unencrypted PKCS#8 PEM private key ("BEGIN PRIVATE KEY") in a file: EC, RSA or EdDSA. */
  static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
    byte[] pem = Files.readAllBytes(file);
    try {
      Matcher block = PRIVATE_KEY.matcher(new String(pem, StandardCharsets.US_ASCII));
      if (!block.find()) {
        throw new GeneralSecurityException("no unencrypted PKCS#8 PEM private key (\"BEGIN PRIVATE KEY\") in " + file
            + "; convert other forms with `openssl pkcs8 -topk8 -nocrypt`");
      }
      byte[] der = Base64.getMimeDecoder().decode(block.group(1));
      try {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : KEY_ALGORITHMS) {
          try {
            return KeyFactory.getInstance(algorithm).generatePrivate(spec);
          } catch (InvalidKeySpecException | NoSuchAlgorithmException e) {
            // not this algorithm: try the next
          }
        }
        throw new InvalidKeySpecException("the PKCS#8 key in " + file + " is not an EC, RSA or EdDSA key");
      } finally {
        Arrays.fill(der, (byte) 0);
      }
    } finally {
      Arrays.fill(pem, (byte) 0);
    }
  }

  /** Presents the one client certificate chain, for the key types the server accepts. */
  private static final class Identity extends X509ExtendedKeyManager {
    private static final String ALIAS = "client";
    private final X509Certificate[] chain;
    private final PrivateKey key;

    Identity(X509Certificate[] chain, PrivateKey key) {
      this.chain = chain.clone();
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
