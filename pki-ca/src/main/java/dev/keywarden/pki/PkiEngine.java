package dev.keywarden.pki;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyPairAlgorithm;
import dev.keywarden.hsm.SignatureAlgorithm;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.unseal.Core;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPException;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.bc.BcDigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA engine over {@link Core}: issuers whose keys live in the HSM, roles, issuance, revocation and CRLs, all
 * kept in storage under {@code pki/}. Every CA signature is one HSM call through {@link HsmContentSigner}.
 */
public final class PkiEngine {
  static final String ISSUERS = "pki/issuers/";
  static final String DEFAULT_ISSUER = "pki/config/default-issuer";
  static final String ROLES = "pki/roles/";
  static final String CERTS = "pki/certs/";
  static final String REVOKED = "pki/revoked/";
  /** How long a CRL is valid after it is built. */
  public static final Duration CRL_LIFETIME = Duration.ofHours(12);

  private static final Logger log = LoggerFactory.getLogger(PkiEngine.class);
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();
  private static final ObjectMapper JSON = new ObjectMapper()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  private static final Pattern SERIAL = Pattern.compile("[0-9a-f]{1,64}");
  private static final int STORE_ATTEMPTS = 8;

  private final Core core;
  private final Clock clock;
  private final SecureRandom random;
  private final CertificateTemplate template;
  private final Map<String, byte[]> crls = new ConcurrentHashMap<>();
  /** Roles as last read, so issuance reads no storage for them; changed only through this engine. */
  private final Map<String, Role> roles = new ConcurrentHashMap<>();
  /** Bumped on every role change; a read that raced with a change does not cache what it read. */
  private long roleChanges;
  /** Issuer signers, found once per unseal: on SoftHSM2 every lookup of a token object reads files. */
  private final Map<String, HsmSigner> signers = new ConcurrentHashMap<>();

  /** An engine over {@code core}; it drops its cached CRLs when the core seals. */
  public PkiEngine(Core core, Clock clock, SecureRandom random) {
    this.core = core;
    this.clock = clock;
    this.random = random;
    this.template = new CertificateTemplate(clock, random);
    core.addSealListener(crls::clear);
    core.addSealListener(signers::clear);
    core.addSealListener(this::forgetRoles);
    core.addSealListener(template::forgetProvenSigners);
  }

  // ---- stored JSON ----

  record StoredIssuer(
      @JsonProperty("id") String id,
      @JsonProperty("certificate") byte[] certificate,
      @JsonProperty("hsm_label") String hsmLabel,
      @JsonProperty("hsm_id") String hsmId,
      @JsonProperty("key_type") KeyType keyType,
      @JsonProperty("parent_id") String parentId,
      @JsonProperty("base_url") String baseUrl,
      @JsonProperty("next_crl_number") long nextCrlNumber) {

    X509CertificateHolder holder() {
      try {
        return new X509CertificateHolder(certificate);
      } catch (IOException e) {
        throw new IllegalStateException("stored issuer '" + id + "' holds an unreadable certificate", e);
      }
    }

    Issuer issuer() {
      return new Issuer(id, holder(), Optional.ofNullable(baseUrl));
    }

    HsmKeyId keyId() {
      return new HsmKeyId(hsmLabel, hsmId);
    }

    StoredIssuer withNextCrlNumber(long n) {
      return new StoredIssuer(id, certificate, hsmLabel, hsmId, keyType, parentId, baseUrl, n);
    }
  }

  record StoredCertificate(
      @JsonProperty("serial") String serialHex,
      @JsonProperty("issuer_id") String issuerId,
      @JsonProperty("certificate") byte[] certificate,
      @JsonProperty("not_after") long notAfter,
      @JsonProperty("revoked_at") long revokedAt,
      @JsonProperty("reason") int reason) {}

  // ---- issuers ----

  /** Generates a root CA: the key pair in the HSM, the certificate self-signed there. The first issuer is the default. */
  public IssuerInfo generateRoot(String commonName, KeyType keyType, Duration ttl, Optional<String> baseUrl) {
    X500Name subject = subject(commonName);
    KeyType type = keyType == null ? KeyType.EC_P256 : keyType;
    return createIssuer(type, baseUrl, null, (id, signer) -> template.selfSignedRoot(subject,
        spki(signer), ttl, Optional.empty(), new HsmContentSigner(signer, signatureAlgorithm(type))));
  }

  /** Generates an intermediate CA whose key is in the HSM, signed (in the HSM) by the internal issuer {@code parentId}. */
  public IssuerInfo generateIntermediate(String commonName, KeyType keyType, Duration ttl, String parentIssuerId) {
    X500Name subject = subject(commonName);
    KeyType type = keyType == null ? KeyType.EC_P256 : keyType;
    StoredIssuer parent = storedIssuer(parentIssuerId);
    BasicConstraints bc = BasicConstraints.fromExtensions(parent.holder().getExtensions());
    if (bc != null && bc.getPathLenConstraint() != null && bc.getPathLenConstraint().signum() == 0) {
      throw KeywardenException.precondition("issuer '" + parent.id() + "' has path length 0 and may sign only leaf"
          + " certificates; sign the intermediate with a root");
    }
    return createIssuer(type, Optional.ofNullable(parent.baseUrl()), parent.id(), (id, signer) ->
        template.intermediate(parent.issuer(), subject, spki(signer), ttl, Optional.of(0), contentSigner(parent)));
  }

  private interface CertificateMaker {
    X509CertificateHolder make(String id, HsmSigner signer);
  }

  private IssuerInfo createIssuer(KeyType type, Optional<String> baseUrl, String parentId, CertificateMaker maker) {
    String id = HexFormat.of().formatHex(randomBytes(8));
    Optional<String> url = Issuer.checkBaseUrl(id, baseUrl);
    Hsm hsm = core.unsealed().hsm();
    HsmKeyId keyId = hsm.generateKeyPair("pki-issuer-" + id, keyPairAlgorithm(type));
    try {
      X509CertificateHolder cert = maker.make(id, hsm.signer(keyId));
      StoredIssuer stored = new StoredIssuer(id, CertificateTemplate.der(cert), keyId.label(), keyId.idHex(), type,
          parentId, url.orElse(null), 1);
      boolean isDefault = store().atomically(ops -> {
        if (!ops.compareAndSet(ISSUERS + id, 0, json(stored))) {
          throw new IllegalStateException("issuer id collision: " + id);
        }
        if (ops.get(DEFAULT_ISSUER).isEmpty()) {
          ops.put(DEFAULT_ISSUER, id.getBytes(UTF_8));
          return true;
        }
        return false;
      });
      return info(stored, isDefault);
    } catch (RuntimeException e) {
      // Nothing half-made: a key pair without a stored issuer would be an orphan on the token.
      try {
        hsm.destroyKey(keyId);
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** All issuers, sorted by id. */
  public List<IssuerInfo> issuers() {
    String def = defaultIssuerId().orElse(null);
    List<IssuerInfo> out = new ArrayList<>();
    for (String key : store().list(ISSUERS)) {
      store().get(key).ifPresent(e -> {
        StoredIssuer s = read(e.value(), StoredIssuer.class);
        out.add(info(s, s.id().equals(def)));
      });
    }
    return out;
  }

  /** One issuer; NOT_FOUND lists how to find the known ones. */
  public IssuerInfo issuer(String id) {
    StoredIssuer s = storedIssuer(id);
    return info(s, s.id().equals(defaultIssuerId().orElse(null)));
  }

  /** Makes {@code id} the issuer used when a request names none. */
  public void setDefault(String id) {
    storedIssuer(id);
    store().put(DEFAULT_ISSUER, id.getBytes(UTF_8));
  }

  private Optional<String> defaultIssuerId() {
    return store().get(DEFAULT_ISSUER).map(e -> new String(e.value(), UTF_8));
  }

  private StoredIssuer resolveIssuer(Optional<String> issuerId) {
    if (issuerId != null && issuerId.isPresent()) {
      return storedIssuer(issuerId.get());
    }
    String id = defaultIssuerId().orElseThrow(() -> KeywardenException.precondition(
        "no issuer yet: generate a root (or intermediate) issuer first"));
    return storedIssuer(id);
  }

  private StoredIssuer storedIssuer(String id) {
    if (id == null || id.isEmpty() || id.contains("/")) {
      throw KeywardenException.invalid("issuer id is missing or malformed");
    }
    return store().get(ISSUERS + id).map(e -> read(e.value(), StoredIssuer.class))
        .orElseThrow(() -> KeywardenException.notFound("issuer '" + NameRules.shown(id)
            + "' not found; list the issuers to see the known ids"));
  }

  private IssuerInfo info(StoredIssuer s, boolean isDefault) {
    X509CertificateHolder h = s.holder();
    return new IssuerInfo(s.id(), h.getSubject().toString(), s.certificate().clone(), s.keyType(),
        Optional.ofNullable(s.parentId()), Optional.ofNullable(s.baseUrl()), h.getNotAfter().toInstant(), isDefault);
  }

  private HsmContentSigner contentSigner(StoredIssuer issuer) {
    String cacheKey = issuer.id() + "/" + issuer.hsmId();
    HsmSigner cached;
    try {
      cached = signers.computeIfAbsent(cacheKey, k -> core.unsealed().hsm().signer(issuer.keyId()));
    } catch (KeywardenException e) {
      throw keyGone(issuer, e);
    }
    // A key removed from the token after it was cached fails at signing: forget it and say which issuer it was.
    HsmSigner guarded = new HsmSigner() {
      @Override
      public dev.keywarden.hsm.HsmKeyId id() {
        return cached.id();
      }

      @Override
      public dev.keywarden.hsm.KeyPairAlgorithm algorithm() {
        return cached.algorithm();
      }

      @Override
      public java.security.PublicKey publicKey() {
        return cached.publicKey();
      }

      @Override
      public byte[] sign(SignatureAlgorithm algorithm, byte[] message) {
        try {
          return cached.sign(algorithm, message);
        } catch (KeywardenException e) {
          signers.remove(cacheKey, cached);
          throw keyGone(issuer, e);
        }
      }
    };
    return new HsmContentSigner(guarded, signatureAlgorithm(issuer.keyType()));
  }

  private static KeywardenException keyGone(StoredIssuer issuer, KeywardenException e) {
    if (e.kind() == KeywardenException.Kind.FAILED_PRECONDITION || e.kind() == KeywardenException.Kind.NOT_FOUND) {
      return new KeywardenException(KeywardenException.Kind.FAILED_PRECONDITION, "issuer '" + issuer.id()
          + "': its key '" + issuer.hsmLabel() + "' is no longer in the HSM; restore the token or generate a new"
          + " issuer and make it the default", e);
    }
    return e;
  }

  private List<byte[]> chain(StoredIssuer issuer) {
    List<byte[]> out = new ArrayList<>();
    StoredIssuer at = issuer;
    for (int depth = 0; at != null && depth < 16; depth++) {
      out.add(at.certificate().clone());
      at = at.parentId() == null ? null : storedIssuer(at.parentId());
    }
    return out;
  }

  // ---- roles ----

  /** Creates or replaces a role. */
  public void writeRole(Role role) {
    if (role == null) {
      throw KeywardenException.invalid("role is missing");
    }
    store().put(ROLES + role.name(), role.toJson().getBytes(UTF_8));
    forgetRoles();
  }

  /** One role; NOT_FOUND when there is none by that name. */
  public Role role(String name) {
    if (name == null || name.isEmpty() || name.contains("/")) {
      throw KeywardenException.invalid("role name is missing or malformed");
    }
    Storage storage = store();
    Role cached = roles.get(name);
    if (cached != null) {
      return cached;
    }
    long changes;
    synchronized (roles) {
      changes = roleChanges;
    }
    Role read = storage.get(ROLES + name)
        .map(e -> Role.fromJson(new String(e.value(), UTF_8)))
        .orElseThrow(() -> KeywardenException.notFound("role '" + NameRules.shown(name)
            + "' not found; create it first or list the roles"));
    synchronized (roles) {
      if (changes == roleChanges) {
        roles.put(name, read);
      }
    }
    return read;
  }

  private void forgetRoles() {
    synchronized (roles) {
      roleChanges++;
      roles.clear();
    }
  }

  /** Role names, sorted. */
  public List<String> listRoles() {
    return store().list(ROLES).stream().map(k -> k.substring(ROLES.length())).toList();
  }

  /** Deletes a role; NOT_FOUND when there is none. Certificates already issued stay valid. */
  public void deleteRole(String name) {
    role(name);
    store().delete(ROLES + name);
    forgetRoles();
  }

  // ---- issuance ----

  /** Signs a CSR (PEM or DER) under {@code roleName}; the issuer is the default unless named. */
  public IssuedCertificate signCsr(String roleName, byte[] csrPemOrDer, Optional<Duration> ttl,
      Optional<String> issuerId) {
    Role role = role(roleName);
    StoredIssuer issuer = resolveIssuer(issuerId);
    CheckedCsr csr = CsrCheck.check(role, csrPemOrDer);
    return issueAndStore(role, issuer, csr.publicKey(), csr.rsa(), csr.names(), ttl);
  }

  /** Makes a key pair of role.key_type in software and issues a certificate for it; the key is returned, never stored. */
  public IssuedWithKey issue(String roleName, RequestedNames names, Optional<Duration> ttl, Optional<String> issuerId) {
    Role role = role(roleName);
    StoredIssuer issuer = resolveIssuer(issuerId);
    if (names == null) {
      throw KeywardenException.invalid("names are missing: give a common name or a DNS, IP or URI SAN");
    }
    NameRules.check(role, names); // refuse before spending time on an RSA key
    KeyPair kp = newKeyPair(role.keyType());
    IssuedCertificate cert = issueAndStore(role, issuer, SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()),
        role.keyType().isRsa(), names, ttl);
    byte[] pkcs8 = kp.getPrivate().getEncoded();
    try {
      return new IssuedWithKey(cert, Pem.block("PRIVATE KEY", pkcs8), role.keyType());
    } finally {
      Arrays.fill(pkcs8, (byte) 0);
    }
  }

  private IssuedCertificate issueAndStore(Role role, StoredIssuer issuer, SubjectPublicKeyInfo key, boolean rsa,
      RequestedNames names, Optional<Duration> ttl) {
    Issuer is = issuer.issuer();
    Optional<Duration> lifetime = ttl == null ? Optional.empty() : ttl;
    for (int attempt = 0; attempt < STORE_ATTEMPTS; attempt++) {
      X509CertificateHolder cert = template.issueLeaf(is, role, key, rsa, names, lifetime, contentSigner(issuer));
      String serial = serialHex(cert.getSerialNumber());
      byte[] der = CertificateTemplate.der(cert);
      Instant notAfter = cert.getNotAfter().toInstant();
      IssuedCertificate issued = new IssuedCertificate(serial, issuer.id(), der, chain(issuer), notAfter);
      if (role.noStore()) {
        return issued;
      }
      StoredCertificate stored = new StoredCertificate(serial, issuer.id(), der, notAfter.getEpochSecond(), 0, 0);
      if (store().compareAndSet(CERTS + serial, 0, json(stored))) {
        return issued;
      }
      // A 158-bit random serial collided: issue again with a fresh one rather than overwrite.
    }
    throw new IllegalStateException("could not store a certificate under a fresh serial after " + STORE_ATTEMPTS
        + " attempts");
  }

  private KeyPair newKeyPair(KeyType type) {
    try {
      KeyPairGenerator g;
      switch (type) {
        case EC_P256, EC_P384 -> {
          g = KeyPairGenerator.getInstance("EC");
          g.initialize(new ECGenParameterSpec(type == KeyType.EC_P256 ? "secp256r1" : "secp384r1"), random);
        }
        case ED25519 -> g = KeyPairGenerator.getInstance("Ed25519");
        default -> {
          g = KeyPairGenerator.getInstance("RSA");
          int bits = switch (type) {
            case RSA_2048 -> 2048;
            case RSA_3072 -> 3072;
            default -> 4096;
          };
          g.initialize(new RSAKeyGenParameterSpec(bits, RSAKeyGenParameterSpec.F4), random);
        }
      }
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK cannot make " + type.typeName() + " keys", e);
    }
  }

  /** The revocation of a stored certificate, read from its own record; empty while it is not revoked. */
  public Optional<RevokedCertificate> revocation(String serialHex) {
    StoredCertificate c = storedCertificate(normalizeSerial(serialHex)).orElseThrow(() -> KeywardenException.notFound(
        "no stored certificate with serial " + NameRules.shown(String.valueOf(serialHex))));
    return c.revokedAt() == 0 ? Optional.empty()
        : Optional.of(new RevokedCertificate(c.serialHex(), c.issuerId(), c.revokedAt(), c.reason(), c.notAfter()));
  }

  /** A stored certificate by serial (hex, colons and case ignored); NOT_FOUND when none. */
  public IssuedCertificate certificate(String serialHex) {
    StoredCertificate c = storedCertificate(normalizeSerial(serialHex)).orElseThrow(() -> KeywardenException.notFound(
        "no stored certificate with serial " + NameRules.shown(String.valueOf(serialHex))
            + " (certificates of no_store roles are never stored)"));
    return new IssuedCertificate(c.serialHex(), c.issuerId(), c.certificate(), chainIfKnown(c.issuerId()),
        Instant.ofEpochSecond(c.notAfter()));
  }

  private List<byte[]> chainIfKnown(String issuerId) {
    return store().get(ISSUERS + issuerId).map(e -> chain(read(e.value(), StoredIssuer.class)))
        .orElse(List.of());
  }

  /** Serials of the stored certificates, sorted. */
  public List<String> listCertificates() {
    return store().list(CERTS).stream().map(k -> k.substring(CERTS.length())).toList();
  }

  private Optional<StoredCertificate> storedCertificate(String serial) {
    return store().get(CERTS + serial).map(e -> read(e.value(), StoredCertificate.class));
  }

  // ---- revocation and CRL ----

  /** Revokes a stored certificate with an RFC 5280 reason code; revoking twice is fine. The issuer's CRL is rebuilt. */
  public RevokedCertificate revoke(String serialHex, int reasonCode) {
    if (reasonCode < 0 || reasonCode > 10 || reasonCode == 7) {
      throw KeywardenException.invalid("reason: " + reasonCode + " is not an RFC 5280 CRLReason code (0-6, 8-10)");
    }
    String serial = normalizeSerial(serialHex);
    long now = clock.instant().getEpochSecond();
    RevokedCertificate result = store().atomically(ops -> {
      StoredEntry e = ops.get(CERTS + serial).orElseThrow(() -> KeywardenException.notFound(
          "no stored certificate with serial " + serial + "; only stored certificates can be revoked"));
      StoredCertificate c = read(e.value(), StoredCertificate.class);
      if (c.revokedAt() != 0) {
        return new RevokedCertificate(serial, c.issuerId(), c.revokedAt(), c.reason(), c.notAfter());
      }
      StoredCertificate marked = new StoredCertificate(c.serialHex(), c.issuerId(), c.certificate(), c.notAfter(), now,
          reasonCode);
      if (!ops.compareAndSet(CERTS + serial, e.version(), json(marked))) {
        throw new IllegalStateException("certificate " + serial + " changed inside a transaction");
      }
      RevokedCertificate r = new RevokedCertificate(serial, c.issuerId(), now, reasonCode, c.notAfter());
      ops.put(REVOKED + c.issuerId() + "/" + serial, json(r));
      return r;
    });
    crls.remove(result.issuerId());
    try {
      rebuildCrl(result.issuerId());
    } catch (KeywardenException e) {
      // The revocation is stored; the next crl() call rebuilds (and reports why it cannot).
      log.warn("issuer '{}': CRL not rebuilt after revoking {}: {}", result.issuerId(), serial, e.getMessage());
    }
    return result;
  }

  /** The revocations of one issuer, sorted by serial. */
  public List<RevokedCertificate> listRevoked(String issuerId) {
    storedIssuer(issuerId);
    List<RevokedCertificate> out = new ArrayList<>();
    String prefix = REVOKED + issuerId + "/";
    for (String key : store().list(prefix)) {
      store().get(key).ifPresent(e -> out.add(read(e.value(), RevokedCertificate.class)));
    }
    return out;
  }

  /** The issuer's current CRL (DER), signed in the HSM; built when missing or about to expire, cached otherwise. */
  public byte[] crl(String issuerId) {
    storedIssuer(issuerId);
    byte[] cached = crls.get(issuerId);
    if (cached != null && !stale(cached)) {
      return cached.clone();
    }
    synchronized (this) {
      cached = crls.get(issuerId);
      if (cached != null && !stale(cached)) {
        return cached.clone();
      }
      return rebuildCrl(issuerId);
    }
  }

  // Builds under the engine lock, so a build that listed revocations earlier can never replace a later one.
  private synchronized byte[] rebuildCrl(String issuerId) {
    byte[] built = buildCrl(issuerId);
    crls.put(issuerId, built);
    return built.clone();
  }

  private boolean stale(byte[] crl) {
    try {
      Date next = new X509CRLHolder(crl).getNextUpdate();
      return next == null || !next.toInstant().isAfter(clock.instant().plus(CRL_LIFETIME.dividedBy(2)));
    } catch (IOException e) {
      return true;
    }
  }

  private byte[] buildCrl(String issuerId) {
    // Reserve the number first: a crash after this wastes a number, never reuses one.
    StoredIssuer issuer = store().atomically(ops -> {
      StoredEntry e = ops.get(ISSUERS + issuerId).orElseThrow(() -> KeywardenException.notFound(
          "issuer '" + issuerId + "' not found"));
      StoredIssuer s = read(e.value(), StoredIssuer.class);
      if (!ops.compareAndSet(ISSUERS + issuerId, e.version(), json(s.withNextCrlNumber(s.nextCrlNumber() + 1)))) {
        throw new IllegalStateException("issuer " + issuerId + " changed inside a transaction");
      }
      return s;
    });
    X509CertificateHolder ca = issuer.holder();
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    X509v2CRLBuilder b = new X509v2CRLBuilder(ca.getSubject(), Date.from(now));
    b.setNextUpdate(Date.from(now.plus(CRL_LIFETIME)));
    for (RevokedCertificate r : listRevoked(issuerId)) {
      b.addCRLEntry(new BigInteger(r.serialHex(), 16), Date.from(Instant.ofEpochSecond(r.revokedAt())), r.reason());
    }
    try {
      b.addExtension(Extension.cRLNumber, false, new CRLNumber(BigInteger.valueOf(issuer.nextCrlNumber())));
      Extension ski = ca.getExtension(Extension.subjectKeyIdentifier);
      if (ski != null) {
        b.addExtension(Extension.authorityKeyIdentifier, false, new AuthorityKeyIdentifier(
            SubjectKeyIdentifier.getInstance(ski.getParsedValue()).getKeyIdentifier()));
      }
    } catch (CertIOException e) {
      throw new IllegalStateException("CRL extensions always encode", e);
    }
    X509CRLHolder crl = b.build(contentSigner(issuer));
    boolean ok;
    try {
      ok = crl.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(BC)
          .build(ca.getSubjectPublicKeyInfo()));
    } catch (Exception e) {
      ok = false;
    }
    if (!ok) {
      throw new IllegalStateException("issuer '" + issuerId + "': the HSM made a CRL signature its certificate's key"
          + " does not verify");
    }
    try {
      return crl.getEncoded();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- OCSP ----

  /** How long an OCSP response may be cached by relying parties. */
  public static final Duration OCSP_LIFETIME = Duration.ofHours(1);

  /**
   * Answers a DER OCSP request (RFC 6960) for certificates of one issuer, signed in the HSM by that issuer itself:
   * good, revoked (with time and reason) or unknown. A request that does not parse gets a malformedRequest response;
   * one naming no issuer of this CA gets unauthorized. Certificates of no_store roles are unknown: the CA keeps no
   * record of them.
   */
  public byte[] ocsp(byte[] ocspRequestDer) {
    store();
    OCSPReq request;
    try {
      request = new OCSPReq(ocspRequestDer);
    } catch (IOException | RuntimeException e) {
      return ocspError(OCSPRespBuilder.MALFORMED_REQUEST);
    }
    Req[] items = request.getRequestList();
    if (items.length == 0) {
      return ocspError(OCSPRespBuilder.MALFORMED_REQUEST);
    }
    try {
      DigestCalculatorProvider digests = new BcDigestCalculatorProvider();
      StoredIssuer responder = null;
      for (Req item : items) {
        responder = matchIssuer(item.getCertID(), digests);
        if (responder != null) {
          break;
        }
      }
      if (responder == null) {
        return ocspError(OCSPRespBuilder.UNAUTHORIZED);
      }
      X509CertificateHolder ca = responder.holder();
      BasicOCSPRespBuilder b = new BasicOCSPRespBuilder(ca.getSubjectPublicKeyInfo(),
          digests.get(CertificateID.HASH_SHA1));
      Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
      Date nextUpdate = Date.from(now.plus(OCSP_LIFETIME));
      for (Req item : items) {
        CertificateID id = item.getCertID();
        b.addResponse(id, status(responder, ca, id, digests), Date.from(now), nextUpdate, null);
      }
      Extension nonce = request.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
      if (nonce != null) {
        b.setResponseExtensions(new Extensions(nonce));
      }
      BasicOCSPResp basic = b.build(contentSigner(responder), new X509CertificateHolder[] {ca}, Date.from(now));
      return new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic).getEncoded();
    } catch (OCSPException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("an OCSP response always builds", e);
    }
  }

  private StoredIssuer matchIssuer(CertificateID id, DigestCalculatorProvider digests) throws OCSPException {
    for (String key : store().list(ISSUERS)) {
      Optional<StoredEntry> e = store().get(key);
      if (e.isPresent()) {
        StoredIssuer s = read(e.get().value(), StoredIssuer.class);
        if (id.matchesIssuer(s.holder(), digests)) {
          return s;
        }
      }
    }
    return null;
  }

  private CertificateStatus status(StoredIssuer responder, X509CertificateHolder ca, CertificateID id,
      DigestCalculatorProvider digests) throws OCSPException {
    if (!id.matchesIssuer(ca, digests)) {
      return new UnknownStatus();
    }
    Optional<StoredCertificate> c = storedCertificate(serialHex(id.getSerialNumber()));
    if (c.isEmpty() || !c.get().issuerId().equals(responder.id())) {
      return new UnknownStatus();
    }
    if (c.get().revokedAt() != 0) {
      return new RevokedStatus(Date.from(Instant.ofEpochSecond(c.get().revokedAt())), c.get().reason());
    }
    return CertificateStatus.GOOD;
  }

  private static byte[] ocspError(int status) {
    try {
      return new OCSPRespBuilder().build(status, null).getEncoded();
    } catch (OCSPException | IOException e) {
      throw new IllegalStateException("an OCSP error response always builds", e);
    }
  }

  // ---- tidy ----

  /**
   * What {@link #tidy} removed.
   *
   * @param certificates stored certificates expired before the given time
   * @param revocations revocation entries of those certificates
   */
  public record Tidied(int certificates, int revocations) {}

  /** Drops certificates that expired before {@code now} and their revocations; CRLs are rebuilt without them. */
  public Tidied tidy(Instant now) {
    long cutoff = now.getEpochSecond();
    int certs = 0;
    int revocations = 0;
    Set<String> touched = new HashSet<>();
    for (String key : store().list(CERTS)) {
      Optional<StoredEntry> e = store().get(key);
      if (e.isEmpty()) {
        continue;
      }
      StoredCertificate c = read(e.get().value(), StoredCertificate.class);
      if (c.notAfter() >= cutoff) {
        continue;
      }
      String revokedKey = REVOKED + c.issuerId() + "/" + c.serialHex();
      boolean hadRevocation = store().atomically(ops -> {
        ops.delete(key);
        return ops.delete(revokedKey);
      });
      certs++;
      if (hadRevocation) {
        revocations++;
        touched.add(c.issuerId());
      }
    }
    // Revocations whose certificate record is gone already (or never matched) still expire with the certificate.
    for (String key : store().list(REVOKED)) {
      Optional<StoredEntry> e = store().get(key);
      if (e.isPresent()) {
        RevokedCertificate r = read(e.get().value(), RevokedCertificate.class);
        if (r.notAfter() < cutoff && store().delete(key)) {
          revocations++;
          touched.add(r.issuerId());
        }
      }
    }
    touched.forEach(crls::remove);
    return new Tidied(certs, revocations);
  }

  // ---- helpers ----

  /** The storage, once the core is unsealed: a sealed server answers nothing, as transit does. */
  private Storage store() {
    core.unsealed();
    return core.storage();
  }

  static String serialHex(BigInteger serial) {
    return serial.toString(16);
  }

  static String normalizeSerial(String serialHex) {
    if (serialHex == null) {
      throw KeywardenException.invalid("serial is missing");
    }
    String s = serialHex.replace(":", "").replace("-", "").toLowerCase(Locale.ROOT);
    while (s.length() > 1 && s.startsWith("0")) {
      s = s.substring(1);
    }
    if (!SERIAL.matcher(s).matches()) {
      throw KeywardenException.invalid("serial: '" + NameRules.shown(serialHex) + "' is not a hex serial number");
    }
    return s;
  }

  private static X500Name subject(String commonName) {
    if (commonName == null || commonName.isBlank() || commonName.length() > 64
        || commonName.chars().anyMatch(Character::isISOControl)) {
      throw KeywardenException.invalid("common_name: 1 to 64 printable characters; got '"
          + NameRules.shown(String.valueOf(commonName)) + "'");
    }
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
  }

  private static SubjectPublicKeyInfo spki(HsmSigner signer) {
    return SubjectPublicKeyInfo.getInstance(signer.publicKey().getEncoded());
  }

  static KeyPairAlgorithm keyPairAlgorithm(KeyType t) {
    return switch (t) {
      case EC_P256 -> KeyPairAlgorithm.EC_P256;
      case EC_P384 -> KeyPairAlgorithm.EC_P384;
      case ED25519 -> KeyPairAlgorithm.ED25519;
      case RSA_2048 -> KeyPairAlgorithm.RSA_2048;
      case RSA_3072 -> KeyPairAlgorithm.RSA_3072;
      case RSA_4096 -> KeyPairAlgorithm.RSA_4096;
    };
  }

  static SignatureAlgorithm signatureAlgorithm(KeyType t) {
    return switch (t) {
      case EC_P256 -> SignatureAlgorithm.ECDSA_SHA256;
      case EC_P384 -> SignatureAlgorithm.ECDSA_SHA384;
      case ED25519 -> SignatureAlgorithm.ED25519;
      case RSA_2048, RSA_3072, RSA_4096 -> SignatureAlgorithm.RSA_PKCS1_SHA256;
    };
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private static byte[] json(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new IllegalStateException("stored PKI records always serialize", e);
    }
  }

  private static <T> T read(byte[] bytes, Class<T> type) {
    try {
      return JSON.readValue(bytes, type);
    } catch (IOException e) {
      throw new IllegalStateException("a stored " + type.getSimpleName() + " is unreadable", e);
    }
  }
}
