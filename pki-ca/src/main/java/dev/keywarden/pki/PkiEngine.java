package dev.keywarden.pki;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.keywarden.encoding.Pem;
import dev.keywarden.callerjson.CallerJson;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.storage.ReadThroughCache;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.StoredJson;
import dev.keywarden.storage.TimeKeys;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.SignerCache;
import java.io.IOException;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPException;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.bc.BcDigestCalculatorProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA engine over {@link Core}: issuers whose keys live in the HSM, roles, issuance, revocation and CRLs, all
 * kept in storage under {@code pki/}. Every CA signature is one HSM call through {@link HsmContentSigner}. The life
 * of issuers (external roots, rotation, retirement) is in {@link Issuers}, CRL building and caching in {@link Crls}.
 */
public final class PkiEngine {
  static final String ISSUERS = "pki/issuers/";
  static final String DEFAULT_ISSUER = "pki/config/default-issuer";
  static final String ROLES = "pki/roles/";
  static final String CERTS = "pki/certs/";
  static final String REVOKED = "pki/revoked/";
  /** Where revocations are stored: a cache of verdicts about certificates watches it (another server may revoke). */
  public static final String REVOCATIONS_PREFIX = REVOKED;
  /**
   * The certificates' expiry index: {@code pki/expiry/NOT_AFTER/ISSUER_ID/SERIAL} (NOT_AFTER in epoch seconds,
   * zero-padded to 12 digits, so key order is expiry order), empty values, written with each stored certificate, so
   * {@link #tidy} reads only what expired.
   */
  static final String EXPIRY = "pki/expiry/";
  /** Present once every stored certificate is in the expiry index (see {@link #tidy}). */
  static final String EXPIRY_INDEXED = "pki/config/expiry-indexed";
  /** Certificates removed (or indexed, when building the index) per transaction by {@link #tidy}. */
  static final int TIDY_BATCH = 500;
  /** How long a CRL is valid after it is built. */
  public static final Duration CRL_LIFETIME = Duration.ofHours(12);

  private static final Logger log = LoggerFactory.getLogger(PkiEngine.class);
  private static final Pattern SERIAL = Pattern.compile("[0-9a-f]{1,64}");
  private static final int STORE_ATTEMPTS = 8;

  private final Core core;
  private final Clock clock;
  private final SecureRandom random;
  private final CertificateTemplate template;
  private final Issuers issuers;
  private final Crls crls;
  /** Roles as last read (storage prefix pki/roles/), so issuance reads no storage for them. */
  private final ReadThroughCache<String, Role> roles = new ReadThroughCache<>();
  /** Issuer signers, found once per unseal: on SoftHSM2 every lookup of a token object reads files. */
  private final SignerCache signers;
  /** Told of every revocation once it is stored (caches of verdicts on certificates evict on it). */
  private final List<Consumer<RevokedCertificate>> revocationListeners = new CopyOnWriteArrayList<>();

  /** An engine over {@code core}; it drops its cached CRLs and signers when the core seals. */
  public PkiEngine(Core core, Clock clock, SecureRandom random) {
    this.core = core;
    this.clock = clock;
    this.random = random;
    this.template = new CertificateTemplate(clock, random);
    this.signers = new SignerCache(core);
    this.issuers = new Issuers(core, clock, random, template, this::contentSigner);
    this.crls = new Crls(core, clock, issuers, this::contentSigner, this::revocationsOf);
    core.addSealListener(crls::clear);
    core.addSealListener(roles::forgetAll);
    roles.watching(core.storage(), ROLES, name -> name); // changes made by other servers sharing the store
    core.addSealListener(template::forgetProvenSigners);
    core.addSealListener(template::forgetEncodedIssuers);
    core.addSealListener(issuers::forgetParsed);
    log.info("PKI: CSR signatures are verified with {}", SignatureCheck.nativeProvider().equals("none")
        ? "Bouncy Castle (AWS-LC through ACCP did not load on this platform)"
        : SignatureCheck.nativeProvider() + " (AWS-LC), Bouncy Castle for other algorithms");
  }

  // ---- stored JSON ----

  /**
   * An issued certificate under {@code pki/certs/SERIAL}. {@code caIssuerId} is set when the certificate is an
   * intermediate CA of this Keywarden (its issuer id): revoking it stops that issuer too.
   */
  record StoredCertificate(
      @JsonProperty("serial") String serialHex,
      @JsonProperty("issuer_id") String issuerId,
      @JsonProperty("certificate") byte[] certificate,
      @JsonProperty("not_after") long notAfter,
      @JsonProperty("revoked_at") long revokedAt,
      @JsonProperty("reason") int reason,
      @JsonProperty("ca_issuer_id") String caIssuerId) {

    StoredCertificate revokedAt(long at, int reasonCode) {
      return new StoredCertificate(serialHex, issuerId, certificate, notAfter, at, reasonCode, caIssuerId);
    }
  }

  // ---- issuers ----

  /** Generates a root CA: the key pair in the HSM, the certificate self-signed there. The first issuer is the default. */
  public IssuerInfo generateRoot(String commonName, KeyType keyType, Duration ttl, Optional<String> baseUrl) {
    return issuers.generateRoot(subject(commonName), keyTypeOrDefault(keyType), ttl, baseUrl);
  }

  /** Generates an intermediate CA whose key is in the HSM, signed (in the HSM) by the internal issuer {@code parentId}. */
  public IssuerInfo generateIntermediate(String commonName, KeyType keyType, Duration ttl, String parentIssuerId) {
    return generateIntermediate(commonName, keyType, ttl, parentIssuerId, Optional.empty(), false);
  }

  /**
   * Generates an intermediate signed by {@code parentIssuerId}, with {@code baseUrl} (the parent's when empty); it
   * becomes the default when {@code makeDefault} (or when it is the first issuer).
   */
  public IssuerInfo generateIntermediate(String commonName, KeyType keyType, Duration ttl, String parentIssuerId,
      Optional<String> baseUrl, boolean makeDefault) {
    return issuers.generateIntermediate(subject(commonName), keyTypeOrDefault(keyType), ttl, parentIssuerId,
        baseUrl, makeDefault);
  }

  /**
   * Generates an intermediate for an external CA to sign: the key pair in the HSM, a CSR signed there (in
   * {@link IssuerInfo#csrPem}). It stays pending, issuing nothing, until {@link #setSignedIntermediate}; then it
   * becomes the default if {@code makeDefault} or if there is none.
   */
  public IssuerInfo generateExternalIntermediate(String commonName, KeyType keyType, Optional<String> baseUrl,
      boolean makeDefault) {
    return issuers.generateExternal(subject(commonName), keyTypeOrDefault(keyType), baseUrl, makeDefault);
  }

  /**
   * Sets the certificate an external CA made from a pending issuer's CSR, with that CA's chain (the certificate that
   * signed it first, PEM); the issuer becomes active. INVALID_ARGUMENT unless it is a CA certificate for the pending
   * key, valid now, that may sign certificates, and each chain certificate signed the one before.
   */
  public IssuerInfo setSignedIntermediate(String issuerId, String certificatePem, List<String> chainPem) {
    return issuers.setSigned(issuerId, certificatePem, chainPem);
  }

  /**
   * Rotates an active issuer: a new key pair and certificate for the same subject under a new id, which replaces it
   * (and takes over as default) once active. The old one is retired: it issues nothing more but serves its CRL and
   * OCSP until what it issued has expired, then {@link #tidy} removes it. An external intermediate's successor is
   * pending (with a CSR) until {@link #setSignedIntermediate}. {@code ttl} empty: the old certificate's lifetime.
   */
  public IssuerInfo rotateIssuer(String issuerId, Optional<Duration> ttl) {
    return issuers.rotate(issuerId, ttl == null ? Optional.empty() : ttl);
  }

  /** Deletes a pending issuer and destroys its HSM key; FAILED_PRECONDITION for an active or retired one. */
  public DeletedIssuer deleteIssuer(String issuerId) {
    return issuers.deletePending(issuerId);
  }

  /** All issuers, sorted by id. */
  public List<IssuerInfo> issuers() {
    return issuers.list();
  }

  /** One issuer; NOT_FOUND lists how to find the known ones. */
  public IssuerInfo issuer(String id) {
    return issuers.info(id);
  }

  /** Makes {@code id} the issuer used when a request names none; it must be active. */
  public void setDefault(String id) {
    issuers.setDefault(id);
  }

  /** The issuer's certificate and the chain above it (Keywarden parents, then external CAs), DER, issuer first. */
  public List<byte[]> issuerChain(String id) {
    return issuers.chain(issuers.publishing(id));
  }

  private StoredIssuer resolveIssuer(Optional<String> issuerId) {
    return issuers.forIssuance(issuerId);
  }

  private StoredIssuer storedIssuer(String id) {
    return issuers.stored(id);
  }

  private static KeyType keyTypeOrDefault(KeyType keyType) {
    return keyType == null ? KeyType.EC_P256 : keyType;
  }

  private HsmContentSigner contentSigner(StoredIssuer issuer) {
    HsmSigner signer = signers.signer(issuer.id() + "/" + issuer.hsmId(), issuer.keyId(), e -> keyGone(issuer, e));
    return new HsmContentSigner(signer, issuer.keyType().signatureAlgorithm());
  }

  private static KeywardenException keyGone(StoredIssuer issuer, KeywardenException e) {
    return new KeywardenException(KeywardenException.Kind.FAILED_PRECONDITION, "issuer '" + issuer.id()
        + "': its key '" + issuer.hsmLabel() + "' is no longer in the HSM; restore the token or generate a new"
        + " issuer and make it the default", e);
  }

  private List<byte[]> chain(StoredIssuer issuer) {
    return issuers.chain(issuer);
  }

  // ---- roles ----

  /** Creates or replaces a role. */
  public void writeRole(Role role) {
    if (role == null) {
      throw KeywardenException.invalid("role is missing");
    }
    store().put(ROLES + role.name(), role.toJson().getBytes(UTF_8));
    roles.forget(role.name());
  }

  /** One role; NOT_FOUND when there is none by that name. */
  public Role role(String name) {
    if (name == null || name.isEmpty() || name.contains("/")) {
      throw KeywardenException.invalid("role name is missing or malformed");
    }
    Storage storage = store();
    return roles.get(name, n -> storage.get(ROLES + n)
        .map(e -> CallerJson.readStored("PKI role '" + Inputs.quoted(n) + "'",
            () -> Role.fromJson(new String(e.value(), UTF_8))))
        .orElseThrow(() -> KeywardenException.notFound("role '" + Inputs.quoted(n)
            + "' not found; create it first or list the roles")));
  }

  /**
   * One page of the role names, sorted: at most {@code limit} after {@code after} (exclusive; "" for the first page).
   * One range read of storage, however many roles there are; INVALID_ARGUMENT on field after unless it is a role name.
   */
  public List<String> listRoles(String after, int limit) {
    if (!after.isEmpty()) {
      try {
        Role.checkName(after);
      } catch (KeywardenException e) {
        throw KeywardenException.invalidField("after", "after must be a role name, as a page lists them; got '"
            + Inputs.quoted(after) + "'");
      }
    }
    return store().list(ROLES, after.isEmpty() ? "" : ROLES + after, limit).stream()
        .map(k -> k.substring(ROLES.length())).toList();
  }

  /** Whether a role of this name is stored (one read, not a listing). */
  public boolean roleExists(String name) {
    return store().get(ROLES + name).isPresent();
  }

  /** Deletes a role; NOT_FOUND when there is none. Certificates already issued stay valid. */
  public void deleteRole(String name) {
    role(name);
    store().delete(ROLES + name);
    roles.forget(name);
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
    KeyPair kp = role.keyType().newSoftwareKeyPair(random);
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
    Issuer is = issuers.view(issuer);
    Optional<Duration> lifetime = ttl == null ? Optional.empty() : ttl;
    for (int attempt = 0; attempt < STORE_ATTEMPTS; attempt++) {
      CertificateTemplate.Leaf leaf = template.leaf(is, role, key, rsa, names, lifetime, contentSigner(issuer));
      String serial = leaf.serialHex();
      byte[] der = leaf.der();
      Instant notAfter = leaf.notAfter();
      issuers.recordIssued(issuer, notAfter); // keeps the issuer's CRL and OCSP up while this certificate is valid
      IssuedCertificate issued = new IssuedCertificate(serial, issuer.id(), der, chain(issuer), notAfter);
      if (role.noStore()) {
        return issued;
      }
      StoredCertificate stored = new StoredCertificate(serial, issuer.id(), der, notAfter.getEpochSecond(), 0, 0,
          null);
      byte[] record = json(stored);
      boolean fresh = store().atomically(ops -> {
        if (!ops.compareAndSet(CERTS + serial, 0, record)) {
          return false;
        }
        ops.put(expiryKey(stored.notAfter(), issuer.id(), serial), new byte[0]);
        return true;
      });
      if (fresh) {
        return issued;
      }
      // A 158-bit random serial collided: issue again with a fresh one rather than overwrite.
    }
    throw new IllegalStateException("could not store a certificate under a fresh serial after " + STORE_ATTEMPTS
        + " attempts");
  }

  /** The revocation of a stored certificate, read from its own record; empty while it is not revoked. */
  public Optional<RevokedCertificate> revocation(String serialHex) {
    StoredCertificate c = storedCertificate(normalizeSerial(serialHex)).orElseThrow(() -> KeywardenException.notFound(
        "no stored certificate with serial " + Inputs.quoted(String.valueOf(serialHex))));
    return c.revokedAt() == 0 ? Optional.empty()
        : Optional.of(new RevokedCertificate(c.serialHex(), c.issuerId(), c.revokedAt(), c.reason(), c.notAfter()));
  }

  /** A stored certificate by serial (hex, colons and case ignored); NOT_FOUND when none. */
  public IssuedCertificate certificate(String serialHex) {
    StoredCertificate c = storedCertificate(normalizeSerial(serialHex)).orElseThrow(() -> KeywardenException.notFound(
        "no stored certificate with serial " + Inputs.quoted(String.valueOf(serialHex))
            + " (certificates of no_store roles are never stored)"));
    return new IssuedCertificate(c.serialHex(), c.issuerId(), c.certificate(), chainIfKnown(c.issuerId()),
        Instant.ofEpochSecond(c.notAfter()));
  }

  private List<byte[]> chainIfKnown(String issuerId) {
    return store().get(ISSUERS + issuerId).map(e -> chain(StoredJson.read(e.value(), StoredIssuer.class)))
        .orElse(List.of());
  }

  /** Serials of the stored certificates, sorted. */
  public List<String> listCertificates() {
    return store().list(CERTS).stream().map(k -> k.substring(CERTS.length())).toList();
  }

  /**
   * One page of the stored serials, in order: at most {@code limit} after {@code after} ("" for the first page). One
   * indexed range read, however many certificates are stored.
   */
  public List<String> listCertificates(String after, int limit) {
    if (!after.isEmpty() && !SERIAL.matcher(after).matches()) {
      throw KeywardenException.invalidField("after", "after must be a serial in lower-case hex, as a page lists them");
    }
    return store().list(CERTS, after.isEmpty() ? "" : CERTS + after, limit).stream()
        .map(k -> k.substring(CERTS.length())).toList();
  }

  private Optional<StoredCertificate> storedCertificate(String serial) {
    return store().get(CERTS + serial).map(e -> read(e.value(), StoredCertificate.class));
  }

  // ---- revocation and CRL ----

  /**
   * Calls {@code listener} after every revocation is stored (before revoke returns), including revocations of
   * intermediate CA certificates, which stop their issuer.
   */
  public void addRevocationListener(Consumer<RevokedCertificate> listener) {
    revocationListeners.add(listener);
  }

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
      StoredCertificate marked = c.revokedAt(now, reasonCode);
      if (!ops.compareAndSet(CERTS + serial, e.version(), json(marked))) {
        throw new IllegalStateException("certificate " + serial + " changed inside a transaction");
      }
      if (c.caIssuerId() != null) {
        issuers.markRevoked(ops, c.caIssuerId(), now); // an intermediate: it signs nothing from now on
      }
      RevokedCertificate r = new RevokedCertificate(serial, c.issuerId(), now, reasonCode, c.notAfter());
      ops.put(REVOKED + c.issuerId() + "/" + serial, json(r));
      return r;
    });
    // After the commit, so a verdict computed concurrently either read the revocation or is evicted by this.
    revocationListeners.forEach(l -> l.accept(result));
    try {
      crls.forget(result.issuerId()); // never serve a CRL without this revocation, even if the rebuild fails
      crls.rebuild(result.issuerId());
    } catch (KeywardenException e) {
      // The revocation is stored; the next crl() call rebuilds (and reports why it cannot).
      log.warn("issuer '{}': CRL not rebuilt after revoking {}: {}", result.issuerId(), serial, e.getMessage());
    }
    return result;
  }

  /**
   * One page of an issuer's revocations, sorted by serial as text: at most {@code limit} after the serial
   * {@code after} (exclusive; "" for the first page). One range read of storage, however many revocations there are;
   * INVALID_ARGUMENT on field after unless it is a serial in lower-case hex, as a page lists them.
   */
  public List<RevokedCertificate> listRevoked(String issuerId, String after, int limit) {
    if (!after.isEmpty() && !SERIAL.matcher(after).matches()) {
      throw KeywardenException.invalidField("after", "after must be a serial in lower-case hex, as a page lists them;"
          + " got '" + Inputs.quoted(after) + "'");
    }
    storedIssuer(issuerId);
    String prefix = REVOKED + issuerId + "/";
    return store().entries(prefix, after.isEmpty() ? "" : prefix + after, limit).stream()
        .map(e -> read(e.value(), RevokedCertificate.class)).toList();
  }

  private List<RevokedCertificate> revocationsOf(String issuerId) {
    List<RevokedCertificate> out = new ArrayList<>();
    String prefix = REVOKED + issuerId + "/";
    // a page of entries per query: at 100,000 revocations, one read each cost a CRL build over a second
    String after = "";
    while (true) {
      List<StoredEntry> page = store().entries(prefix, after, 1_000);
      for (StoredEntry e : page) {
        out.add(read(e.value(), RevokedCertificate.class));
      }
      if (page.size() < 1_000) {
        break;
      }
      after = page.get(page.size() - 1).key();
    }
    return out;
  }

  /**
   * The issuer's current CRL (DER), signed in the HSM: the cached or stored one while less than half its life is
   * gone, a new one otherwise. Retired issuers keep publishing theirs; FAILED_PRECONDITION for a pending one.
   */
  public byte[] crl(String issuerId) {
    return crls.current(issuerId);
  }

  /**
   * The current CRLs (DER) of an issuer and of every Keywarden issuer above it, leaf-most first: what a relying party
   * that checks revocation along the whole chain (nginx's ssl_crl, OpenSSL's -crl_check_all) needs. An external CA
   * above an external intermediate is not Keywarden's: its CRL is not among them.
   */
  public List<byte[]> crlChain(String issuerId) {
    List<byte[]> out = new ArrayList<>();
    for (String id : issuers.lineage(issuers.publishing(issuerId))) {
      out.add(crls.current(id));
    }
    return out;
  }

  /**
   * Rebuilds the CRL of every active or retired issuer whose CRL is missing or past half its life, so relying
   * parties never see a stale one; returns the ids rebuilt. Nothing while sealed; for the server's schedule.
   */
  public List<String> refreshCrls() {
    return crls.refresh();
  }

  // ---- OCSP ----

  /** How long an OCSP response may be cached by relying parties. */
  public static final Duration OCSP_LIFETIME = Duration.ofHours(1);

  /**
   * Answers a DER OCSP request (RFC 6960) for certificates of one issuer, signed in the HSM by that issuer itself:
   * good, revoked (with time and reason) or unknown. Always an OCSP response, whatever the bytes: one that is not a
   * well-formed request gets malformedRequest; one naming no issuer of this CA gets unauthorized; while sealed,
   * tryLater. Certificates of no_store roles are unknown: the CA keeps no record of them.
   */
  public byte[] ocsp(byte[] ocspRequestDer) {
    OcspRequest request;
    try {
      request = OcspRequest.parse(ocspRequestDer);
    } catch (KeywardenException e) {
      // One line, no stack trace: a relying party's broken request is not the server's problem.
      log.debug("OCSP malformedRequest: {}", e.getMessage());
      return ocspError(OCSPRespBuilder.MALFORMED_REQUEST);
    }
    try {
      store();
    } catch (KeywardenException e) {
      if (e.kind() == KeywardenException.Kind.FAILED_PRECONDITION) {
        return ocspError(OCSPRespBuilder.TRY_LATER); // sealed: RFC 6960's "try again later"
      }
      throw e;
    }
    try {
      DigestCalculatorProvider digests = new BcDigestCalculatorProvider();
      StoredIssuer responder = null;
      for (CertificateID id : request.ids()) {
        responder = matchIssuer(id, digests);
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
      for (CertificateID id : request.ids()) {
        b.addResponse(id, status(responder, ca, id, digests), Date.from(now), nextUpdate, null);
      }
      if (request.nonce() != null) {
        b.setResponseExtensions(new Extensions(request.nonce()));
      }
      BasicOCSPResp basic = b.build(contentSigner(responder), new X509CertificateHolder[] {ca}, Date.from(now));
      return new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic).getEncoded();
    } catch (OCSPException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("an OCSP response always builds", e);
    }
  }

  /**
   * The issuer {@code id} names, found by its issuer key hash in the issuers' key index (one short range read and the
   * issuers that hold that key), however many issuers and certificates there are; null for none.
   */
  private StoredIssuer matchIssuer(CertificateID id, DigestCalculatorProvider digests) {
    for (String issuerId : issuers.withKeyHash(id.getHashAlgOID(), id.getIssuerKeyHash())) {
      StoredIssuer s;
      try {
        s = issuers.stored(issuerId);
      } catch (KeywardenException e) {
        continue; // removed since the index was read
      }
      if (s.certificate() != null && issuedBy(id, s.holder(), digests)) {
        return s;
      }
    }
    return null;
  }

  /**
   * Whether {@code id} names {@code ca}. A CertID whose hash algorithm this responder cannot compute names no
   * issuer it knows: the request is well-formed, so not malformedRequest, but the responder cannot answer for it
   * authoritatively, which RFC 6960 section 2.3 (after RFC 5019 section 2.2.3) answers with unauthorized when no
   * CertID of the request names one of its issuers, and with the status unknown for that CertID when others do.
   */
  private static boolean issuedBy(CertificateID id, X509CertificateHolder ca, DigestCalculatorProvider digests) {
    try {
      return id.matchesIssuer(ca, digests);
    } catch (OCSPException e) {
      return false; // no digest for id's hash algorithm
    }
  }

  private CertificateStatus status(StoredIssuer responder, X509CertificateHolder ca, CertificateID id,
      DigestCalculatorProvider digests) {
    BigInteger serial = id.getSerialNumber();
    if (!issuedBy(id, ca, digests) || serial.signum() < 0 || serial.bitLength() > 160) {
      return new UnknownStatus(); // this CA issues only positive serials of at most 20 octets (RFC 5280 4.1.2.2)
    }
    Optional<StoredCertificate> c = storedCertificate(serialHex(serial));
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
   * @param issuersRemoved retired issuers removed because nothing they issued is still valid
   */
  public record Tidied(int certificates, int revocations, List<String> issuersRemoved) {
    public Tidied {
      issuersRemoved = List.copyOf(issuersRemoved);
    }
  }

  /**
   * Drops certificates that expired before {@code now} and their revocations (CRLs are rebuilt without them), then
   * retired issuers whose issued_until is before {@code now}, destroying their HSM keys. Reads the expiry index's
   * expired range only, a page at a time, and deletes each page in one transaction of at most {@value #TIDY_BATCH}
   * certificates. On a store written before the index, the first tidy indexes the certificates already there once.
   */
  public Tidied tidy(Instant now) {
    long cutoff = now.getEpochSecond();
    indexExpiryOnce();
    int certs = 0;
    int revocations = 0;
    Set<String> touched = new HashSet<>();
    while (true) {
      List<String> due = store().list(EXPIRY, "", TIDY_BATCH).stream().filter(k -> expiryTime(k) < cutoff).toList();
      if (due.isEmpty()) {
        break;
      }
      int[] counts = new int[2];
      Set<String> revokedBy = store().atomically(ops -> {
        counts[0] = 0;
        counts[1] = 0;
        Set<String> issuerIds = new HashSet<>();
        for (String entry : due) {
          String[] parts = entry.substring(EXPIRY.length()).split("/");
          String issuerId = parts[1];
          String serial = parts[2];
          if (ops.delete(CERTS + serial)) {
            counts[0]++;
          }
          if (ops.delete(REVOKED + issuerId + "/" + serial)) {
            counts[1]++;
            issuerIds.add(issuerId);
          }
          ops.delete(entry);
        }
        return issuerIds;
      });
      certs += counts[0];
      revocations += counts[1];
      touched.addAll(revokedBy);
      if (due.size() < TIDY_BATCH) {
        break;
      }
    }
    touched.forEach(crls::forget);
    return new Tidied(certs, revocations, removeRetiredIssuers(now));
  }

  /** The expiry index's key for a certificate. */
  static String expiryKey(long notAfter, String issuerId, String serial) {
    return TimeKeys.start(EXPIRY, notAfter, 12).append('/').append(issuerId).append('/').append(serial).toString();
  }

  private static long expiryTime(String indexKey) {
    return TimeKeys.seconds(EXPIRY, indexKey);
  }

  /**
   * Puts the certificates of a store written before the expiry index into it, a page per transaction, then marks
   * the index complete; an interrupted run is repeated from the start, rewriting the same entries. Revocations whose
   * certificate record is gone are indexed by their own not_after, so they still expire with the certificate.
   */
  private void indexExpiryOnce() {
    if (store().get(EXPIRY_INDEXED).isPresent()) {
      return;
    }
    String after = "";
    List<String> page;
    do {
      page = store().list(CERTS, after, TIDY_BATCH);
      List<String> keys = page;
      store().atomically(ops -> {
        for (String key : keys) {
          ops.get(key).map(e -> read(e.value(), StoredCertificate.class)).ifPresent(c ->
              ops.put(expiryKey(c.notAfter(), c.issuerId(), c.serialHex()), new byte[0]));
        }
        return null;
      });
      after = page.isEmpty() ? after : page.get(page.size() - 1);
    } while (page.size() == TIDY_BATCH);
    after = "";
    do {
      page = store().list(REVOKED, after, TIDY_BATCH);
      List<String> keys = page;
      store().atomically(ops -> {
        for (String key : keys) {
          ops.get(key).map(e -> read(e.value(), RevokedCertificate.class)).ifPresent(r ->
              ops.put(expiryKey(r.notAfter(), r.issuerId(), r.serialHex()), new byte[0]));
        }
        return null;
      });
      after = page.isEmpty() ? after : page.get(page.size() - 1);
    } while (page.size() == TIDY_BATCH);
    store().put(EXPIRY_INDEXED, new byte[0]);
  }

  private List<String> removeRetiredIssuers(Instant now) {
    List<String> removed = issuers.removeExpiredRetired(now);
    for (String id : removed) {
      crls.forget(id);
      signers.forget(k -> k.startsWith(id + "/"));
    }
    return removed;
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

  /**
   * The canonical form of a serial (lower-case hex, no colons, no leading zeros), as stored and as named in policy
   * resources {@code pki/certs/SERIAL}; INVALID_ARGUMENT unless it is a hex serial.
   */
  public static String canonicalSerial(String serialHex) {
    return normalizeSerial(serialHex);
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
      throw KeywardenException.invalid("serial: '" + Inputs.quoted(serialHex) + "' is not a hex serial number");
    }
    return s;
  }

  private static X500Name subject(String commonName) {
    if (commonName == null || commonName.isBlank() || commonName.length() > 64
        || commonName.chars().anyMatch(Character::isISOControl)) {
      throw KeywardenException.invalid("common_name: 1 to 64 printable characters; got '"
          + Inputs.quoted(String.valueOf(commonName)) + "'");
    }
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
  }

  private static byte[] json(Object value) {
    return StoredJson.write(value);
  }

  private static <T> T read(byte[] bytes, Class<T> type) {
    return StoredJson.read(bytes, type);
  }

}
