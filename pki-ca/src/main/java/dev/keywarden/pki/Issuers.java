package dev.keywarden.pki;

import static dev.keywarden.pki.PkiEngine.DEFAULT_ISSUER;
import static dev.keywarden.pki.PkiEngine.ISSUERS;
import static java.nio.charset.StandardCharsets.UTF_8;

import dev.keywarden.encoding.Pem;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.storage.ReadThroughCache;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.CasRetry;
import dev.keywarden.storage.StoredJson;
import dev.keywarden.unseal.Core;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The life of issuers: generated (root, intermediate under a Keywarden issuer, or external: pending until an outside
 * CA's certificate is set), the default, rotation (a new key and certificate under a new id; the old one retired) and
 * removal of retired issuers once nothing they issued is still valid. Keys are made and used only in the HSM.
 */
final class Issuers {
  private static final Logger log = LoggerFactory.getLogger(Issuers.class);
  private static final long HOUR = 3600;
  /**
   * The issuers' key index, for OCSP: {@code pki/issuer-keys/ALG/KEY_HASH/ISSUER_ID} (ALG sha1 or sha256, KEY_HASH
   * the hex hash of the issuer's public key bits, as an OCSP CertID carries it), empty values, written with the
   * issuer record and removed with it.
   */
  static final String ISSUER_KEYS = "pki/issuer-keys/";
  /** Present once every issuer is in the key index: written with the first issuer, or by the first OCSP request. */
  static final String ISSUER_KEYS_INDEXED = "pki/config/issuer-keys-indexed";
  /** The CertID hash algorithms the key index holds (RFC 6960's SHA-1 and RFC 5019's SHA-256). */
  private static final Map<org.bouncycastle.asn1.ASN1ObjectIdentifier, String> KEY_HASHES = Map.of(
      org.bouncycastle.asn1.oiw.OIWObjectIdentifiers.idSHA1, "sha1",
      org.bouncycastle.asn1.nist.NISTObjectIdentifiers.id_sha256, "sha256");

  private final Core core;
  private final Clock clock;
  private final SecureRandom random;
  private final CertificateTemplate template;
  private final Function<StoredIssuer, HsmContentSigner> signing;
  /**
   * Each issuer's record as last parsed, with its certificate parsed: every issuance takes the record from
   * {@link #records} (which the change feed keeps true to storage, so another server's change is seen), and only a
   * record whose bytes changed is parsed again.
   */
  private final Map<String, Parsed> parsed = new ConcurrentHashMap<>();
  /**
   * The issuer records and the default issuer's id as last read, by storage key (prefixes pki/issuers/ and
   * pki/config/default-issuer), so an issuance reads no storage: every committed change under them, here or on
   * another server sharing the store (the change feed), forgets the entry before its writer returns.
   */
  private final ReadThroughCache<String, Optional<StoredEntry>> records = new ReadThroughCache<>();

  private record Parsed(byte[] bytes, StoredIssuer issuer, Issuer view) {}

  Issuers(Core core, Clock clock, SecureRandom random, CertificateTemplate template,
      Function<StoredIssuer, HsmContentSigner> signing) {
    this.core = core;
    this.clock = clock;
    this.random = random;
    this.template = template;
    this.signing = signing;
    for (String prefix : new String[] {ISSUERS, DEFAULT_ISSUER}) {
      records.watching(core.storage(), prefix, rest -> prefix + rest);
    }
  }

  /** A record as last read (see {@link #records}); for the issuance path, never for a compare-and-set. */
  private Optional<StoredEntry> record(String key) {
    return records.get(key, k -> store().get(k));
  }

  // ---- generation ----

  IssuerInfo generateRoot(X500Name subject, KeyType type, Duration ttl, Optional<String> baseUrl) {
    String id = newId();
    Optional<String> url = Issuer.checkBaseUrl(id, baseUrl);
    return withNewKey(id, type, k -> commit(selfSigned(k, subject, ttl, url, null), false, ops -> { }));
  }

  IssuerInfo generateIntermediate(X500Name subject, KeyType type, Duration ttl, String parentId,
      Optional<String> baseUrl, boolean makeDefault) {
    StoredIssuer parent = signingParent(parentId);
    String id = newId();
    Optional<String> url = Issuer.checkBaseUrl(id, baseUrl.isPresent() ? baseUrl
        : Optional.ofNullable(parent.baseUrl()));
    return withNewKey(id, type, k -> commitIntermediate(signedBy(parent, k, subject, ttl, url, null), parent,
        makeDefault));
  }

  IssuerInfo generateExternal(X500Name subject, KeyType type, Optional<String> baseUrl, boolean makeDefault) {
    String id = newId();
    Optional<String> url = Issuer.checkBaseUrl(id, baseUrl);
    return withNewKey(id, type, k -> commit(StoredIssuer.pending(id, csr(subject, k), k.key(), type,
        url.orElse(null), null, makeDefault), false, ops -> { }));
  }

  /** Stores the certificate an external CA made for a pending issuer, which becomes active. */
  IssuerInfo setSigned(String id, String certificatePem, List<String> chainPem) {
    StoredIssuer pending = stored(id);
    requirePending(pending);
    SignedIntermediate signed = SignedIntermediate.check(id, pending.request().getSubjectPublicKeyInfo(),
        certificatePem, chainPem, clock.instant());
    StoredIssuer active = pending.activated(CertificateTemplate.der(signed.certificate()),
        signed.chain().stream().map(CertificateTemplate::der).toList());
    boolean isDefault = store().atomically(ops -> {
      StoredEntry e = ops.get(ISSUERS + id).orElseThrow(() -> notFound(id));
      requirePending(read(e)); // set twice at once: the second one finds it active
      ops.put(ISSUERS + id, StoredJson.write(active));
      if (active.replaces() != null) {
        retire(ops, active.replaces(), id);
      }
      return claimDefault(ops, active, pending.defaultOnActivation());
    });
    return info(active, isDefault);
  }

  // ---- rotation ----

  /**
   * Replaces an active issuer with a new key pair and a certificate for the same subject, under a new id: a root
   * signs itself, an internal intermediate is signed by its parent (or the parent's successor once the parent was
   * rotated), an external intermediate gets a CSR and stays pending until its certificate is set. The old issuer is
   * retired (and the new one takes over as default) as soon as the new one is active.
   */
  IssuerInfo rotate(String id, Optional<Duration> ttl) {
    StoredIssuer old = stored(id);
    requireRotatable(old);
    if (old.external() && ttl.isPresent()) {
      throw KeywardenException.invalid("ttl: the external CA decides the lifetime of external intermediate '" + id
          + "'; leave ttl unset");
    }
    X509CertificateHolder oldCert = old.holder();
    X500Name subject = oldCert.getSubject();
    Duration lifetime = ttl.orElse(Duration.between(oldCert.getNotBefore().toInstant(),
        oldCert.getNotAfter().toInstant()));
    Optional<String> url = Optional.ofNullable(old.baseUrl());
    String newId = newId();
    if (old.external()) {
      return withNewKey(newId, old.keyType(), k -> commit(StoredIssuer.pending(newId, csr(subject, k), k.key(),
          old.keyType(), url.orElse(null), id, false), false, ops -> markRotating(ops, id, newId)));
    }
    if (old.parentId() == null) {
      return withNewKey(newId, old.keyType(), k -> commit(selfSigned(k, subject, lifetime, url, id), false,
          ops -> retire(ops, id, newId)));
    }
    StoredIssuer parent = signingParent(old.parentId());
    return withNewKey(newId, old.keyType(), k -> commitIntermediate(signedBy(parent, k, subject, lifetime, url, id),
        parent, false));
  }

  /**
   * Deletes a pending issuer that will never get its certificate (an external intermediate, or the successor of a
   * rotation): its record and the old issuer's link to it in one transaction, so the old one can be rotated again,
   * then its HSM key pair. Active and retired issuers are refused: one is rotated, the other removed by tidy.
   */
  DeletedIssuer deletePending(String id) {
    stored(id); // a malformed id is INVALID_ARGUMENT and an unknown one NOT_FOUND before any transaction
    record Removed(StoredIssuer issuer, boolean unlinked) {}
    // The record goes first, in a transaction that checks the state again, and the key after it. The other order
    // could destroy the key of an issuer that a concurrent SetSignedIntermediate has just activated, leaving an
    // active issuer that can sign nothing, not even its CRL. This order at worst leaves a key pair on the token that
    // no record names: it signs nothing, and the caller and the log get its label to remove it by hand.
    Removed removed = store().atomically(ops -> {
      StoredIssuer s = ops.get(ISSUERS + id).map(Issuers::read).orElseThrow(() -> notFound(id));
      if (s.state() == IssuerState.ACTIVE) {
        throw KeywardenException.precondition("issuer '" + id + "' is active; only a pending issuer can be deleted."
            + (s.replacedBy() != null ? " Its rotation to '" + s.replacedBy() + "' is pending: delete '"
                + s.replacedBy() + "' to cancel it." : " To replace it, rotate it (keywarden pki rotate-issuer "
                + id + ")."));
      }
      if (s.state() == IssuerState.RETIRED) {
        throw KeywardenException.precondition("issuer '" + id + "' is retired; only a pending issuer can be"
            + " deleted. It still serves its certificate, CRL and OCSP for what it issued; keywarden pki tidy"
            + " removes it and destroys its key once that has expired" + (s.issuedUntil() == 0
                ? " (it issued nothing, so the next tidy does)." : " (after "
                + Instant.ofEpochSecond(s.issuedUntil()) + ")."));
      }
      ops.delete(ISSUERS + id);
      keyIndexKeys(s).forEach(ops::delete);
      Optional<StoredIssuer> old = s.replaces() == null ? Optional.empty()
          : ops.get(ISSUERS + s.replaces()).map(Issuers::read);
      boolean unlinked = old.isPresent() && id.equals(old.get().replacedBy());
      if (unlinked) {
        ops.put(ISSUERS + s.replaces(), StoredJson.write(old.get().withReplacedBy(null)));
      }
      return new Removed(s, unlinked);
    });
    parsed.remove(id);
    StoredIssuer gone = removed.issuer();
    Optional<String> replaces = removed.unlinked() ? Optional.of(gone.replaces()) : Optional.empty();
    try {
      core.unsealed().hsm().destroyKey(gone.keyId());
      return new DeletedIssuer(id, replaces, true, Optional.empty());
    } catch (RuntimeException e) {
      // The issuer is deleted whatever happens here: failing the call now would say nothing changed, and a retry
      // would only find no issuer. Key labels and ids are not secret; a KeywardenException's message never is.
      String key = "'" + gone.hsmLabel() + "' (id " + gone.hsmId() + ")";
      log.warn("pending issuer '{}' deleted; its HSM key {} was not destroyed: {}", id, key, e.getMessage());
      boolean absent = e instanceof KeywardenException k && k.kind() == KeywardenException.Kind.NOT_FOUND;
      String reason = e instanceof KeywardenException ? e.getMessage() : e.getClass().getSimpleName();
      return new DeletedIssuer(id, replaces, false, Optional.of(absent
          ? "its HSM key " + key + " was no longer on the token; nothing is left to remove"
          : "its HSM key " + key + " could not be destroyed (" + reason + "); no issuer uses it any more: remove it"
              + " from the token by hand"));
    }
  }

  private void requireRotatable(StoredIssuer old) {
    requireActive(old);
    if (old.replacedBy() != null) {
      throw KeywardenException.precondition("issuer '" + old.id() + "' is already being rotated: its successor '"
          + old.replacedBy() + "' is pending; set its certificate with SetSignedIntermediate first");
    }
  }

  /** A pending successor is recorded on the old issuer, which keeps issuing until the successor is active. */
  private static void markRotating(StorageOps ops, String oldId, String newId) {
    StoredIssuer old = ops.get(ISSUERS + oldId).map(Issuers::read).orElseThrow(() -> notFound(oldId));
    if (old.state() != IssuerState.ACTIVE || old.replacedBy() != null) {
      throw KeywardenException.precondition("issuer '" + oldId + "' changed during the rotation (now "
          + old.state().stateName() + "); try again");
    }
    ops.put(ISSUERS + oldId, StoredJson.write(old.withReplacedBy(newId)));
  }

  /** In the transaction that makes {@code newId} active: the old issuer is retired and names its successor. */
  private void retire(StorageOps ops, String oldId, String newId) {
    Optional<StoredIssuer> found = ops.get(ISSUERS + oldId).map(Issuers::read);
    if (found.isEmpty()) {
      return; // removed meanwhile: nothing left to retire
    }
    StoredIssuer old = found.get();
    boolean ours = old.replacedBy() == null || old.replacedBy().equals(newId);
    if (old.state() != IssuerState.ACTIVE || !ours) {
      throw KeywardenException.precondition("issuer '" + oldId + "' is " + old.state().stateName()
          + (old.replacedBy() == null ? "" : " and replaced by '" + old.replacedBy() + "'")
          + "; it cannot be replaced by '" + newId + "'");
    }
    ops.put(ISSUERS + oldId, StoredJson.write(old.retired(newId, clock.instant().getEpochSecond())));
  }

  // ---- the pieces generation and rotation share ----

  /** A key pair just made in the HSM for the issuer {@code id}. */
  private record NewKey(String id, HsmKeyId key, HsmSigner signer, KeyType type) {
    SubjectPublicKeyInfo spki() {
      return SubjectPublicKeyInfo.getInstance(signer.publicKey().getEncoded());
    }

    HsmContentSigner contentSigner() {
      return new HsmContentSigner(signer, type.signatureAlgorithm());
    }
  }

  /** Makes a key pair in the HSM for {@code id} and runs {@code work}; the key is destroyed if the work fails. */
  private IssuerInfo withNewKey(String id, KeyType type, Function<NewKey, IssuerInfo> work) {
    Hsm hsm = core.unsealed().hsm();
    HsmKeyId key = hsm.generateKeyPair("pki-issuer-" + id, type.algorithm());
    try {
      return work.apply(new NewKey(id, key, hsm.signer(key), type));
    } catch (RuntimeException e) {
      // Nothing half-made: a key pair without a stored issuer would be an orphan on the token.
      try {
        hsm.destroyKey(key);
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** Stores a new issuer with whatever else must change with it, in one transaction; returns its info. */
  private IssuerInfo commit(StoredIssuer fresh, boolean makeDefault, Consumer<StorageOps> also) {
    boolean isDefault = store().atomically(ops -> {
      if (ops.list(ISSUERS, "", 1).isEmpty()) {
        // The first issuer: nothing was issued before it, so both indexes are complete from here on.
        ops.put(ISSUER_KEYS_INDEXED, new byte[0]);
        ops.put(PkiEngine.EXPIRY_INDEXED, new byte[0]);
      }
      if (!ops.compareAndSet(ISSUERS + fresh.id(), 0, StoredJson.write(fresh))) {
        throw new IllegalStateException("issuer id collision: " + fresh.id());
      }
      keyIndexKeys(fresh).forEach(k -> ops.put(k, new byte[0]));
      also.accept(ops);
      return fresh.state() == IssuerState.ACTIVE && claimDefault(ops, fresh, makeDefault);
    });
    return info(fresh, isDefault);
  }

  private StoredIssuer selfSigned(NewKey k, X500Name subject, Duration ttl, Optional<String> url, String replaces) {
    X509CertificateHolder cert = template.selfSignedRoot(subject, k.spki(), ttl, Optional.empty(),
        k.contentSigner());
    return StoredIssuer.active(k.id(), CertificateTemplate.der(cert), k.key(), k.type(), null, url.orElse(null),
        replaces);
  }

  private StoredIssuer signedBy(StoredIssuer parent, NewKey k, X500Name subject, Duration ttl, Optional<String> url,
      String replaces) {
    X509CertificateHolder cert = template.intermediate(parent.issuer(), subject, k.spki(), ttl, Optional.of(0),
        signing.apply(parent));
    return StoredIssuer.active(k.id(), CertificateTemplate.der(cert), k.key(), k.type(), parent.id(),
        url.orElse(null), replaces);
  }

  /** Stores an intermediate; its parent's CRL and OCSP must outlive it, and a rotation retires what it replaces. */
  private IssuerInfo commitIntermediate(StoredIssuer fresh, StoredIssuer parent, boolean makeDefault) {
    long notAfter = fresh.holder().getNotAfter().toInstant().getEpochSecond();
    X509CertificateHolder cert = fresh.holder();
    String serial = PkiEngine.serialHex(cert.getSerialNumber());
    byte[] record = StoredJson.write(new PkiEngine.StoredCertificate(serial, parent.id(), fresh.certificate(),
        notAfter, 0, 0, fresh.id()));
    return commit(fresh, makeDefault, ops -> {
      // Kept like any certificate the parent issued, so it can be revoked by serial and shows in the parent's CRL.
      if (!ops.compareAndSet(PkiEngine.CERTS + serial, 0, record)) {
        throw new IllegalStateException("certificate serial collision: " + serial);
      }
      ops.put(PkiEngine.expiryKey(notAfter, parent.id(), serial), new byte[0]);
      StoredIssuer p = ops.get(ISSUERS + parent.id()).map(Issuers::read).orElseThrow(() -> notFound(parent.id()));
      if (p.issuedUntil() < notAfter) {
        ops.put(ISSUERS + parent.id(), StoredJson.write(p.withIssuedUntil(roundUpToHour(notAfter))));
      }
      if (fresh.replaces() != null) {
        retire(ops, fresh.replaces(), fresh.id());
      }
    });
  }

  /**
   * The issuer that signs a new intermediate: {@code id} when active, its successor when it was rotated away.
   * A CA with path length 0 signs no further CA.
   */
  private StoredIssuer signingParent(String id) {
    StoredIssuer parent = followSuccessors(stored(id));
    requireNotRevoked(requireActive(parent));
    BasicConstraints bc = BasicConstraints.fromExtensions(parent.holder().getExtensions());
    if (bc != null && bc.getPathLenConstraint() != null && bc.getPathLenConstraint().signum() == 0) {
      throw KeywardenException.precondition("issuer '" + parent.id() + "' has path length 0 and may sign only leaf"
          + " certificates; sign the intermediate with a root");
    }
    return parent;
  }

  private static boolean claimDefault(StorageOps ops, StoredIssuer active, boolean wanted) {
    Optional<String> current = ops.get(DEFAULT_ISSUER).map(e -> new String(e.value(), UTF_8));
    boolean take = wanted || current.isEmpty()
        || (active.replaces() != null && current.get().equals(active.replaces()));
    if (take) {
      ops.put(DEFAULT_ISSUER, active.id().getBytes(UTF_8));
    }
    return take;
  }

  /** A PKCS#10 request signed in the HSM, asking for a CA certificate (path length 0) that signs certificates and CRLs. */
  private static byte[] csr(X500Name subject, NewKey k) {
    try {
      ExtensionsGenerator ext = new ExtensionsGenerator();
      ext.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      ext.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      PKCS10CertificationRequest csr = new PKCS10CertificationRequestBuilder(subject, k.spki())
          .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
          .build(k.contentSigner());
      if (!SignatureCheck.csrSelfSigned(csr)) {
        throw new IllegalStateException("the HSM made a CSR signature the key's public half does not verify");
      }
      return csr.getEncoded();
    } catch (IOException e) {
      throw new IllegalStateException("a CSR always encodes", e);
    }
  }

  // ---- reading, the default and issuance checks ----

  List<StoredIssuer> all() {
    List<StoredIssuer> out = new ArrayList<>();
    for (String key : store().list(ISSUERS)) {
      store().get(key).ifPresent(e -> out.add(read(e)));
    }
    return out;
  }

  List<IssuerInfo> list() {
    String def = defaultId().orElse(null);
    return all().stream().map(s -> info(s, s.id().equals(def))).toList();
  }

  IssuerInfo info(String id) {
    StoredIssuer s = stored(id);
    return info(s, s.id().equals(defaultId().orElse(null)));
  }

  void setDefault(String id) {
    requireActive(stored(id));
    store().put(DEFAULT_ISSUER, id.getBytes(UTF_8));
  }

  Optional<String> defaultId() {
    return record(DEFAULT_ISSUER).map(e -> new String(e.value(), UTF_8));
  }

  /** Any issuer by id; NOT_FOUND says how to find the known ones. */
  StoredIssuer stored(String id) {
    if (id == null || id.isEmpty() || id.contains("/")) {
      throw KeywardenException.invalid("issuer id is missing or malformed");
    }
    StoredEntry e = record(ISSUERS + id).orElseThrow(() -> notFound(id));
    Parsed p = parsed.get(id);
    if (p != null && Arrays.equals(p.bytes(), e.value())) {
      return p.issuer();
    }
    StoredIssuer s = read(e);
    parsed.put(id, new Parsed(e.value(), s, s.certificate() == null ? null : s.issuer()));
    return s;
  }

  /** The issuer as certificates see it, parsed once per version of its record. */
  Issuer view(StoredIssuer s) {
    Parsed p = parsed.get(s.id());
    return p != null && p.issuer() == s && p.view() != null ? p.view() : s.issuer();
  }

  /** Forgets parsed records (on seal). */
  void forgetParsed() {
    parsed.clear();
    records.forgetAll();
  }

  /**
   * The issuer for a new certificate: the one named, which must be active, or the default. A request naming none
   * follows a rotation that committed after it read the default, rather than fail.
   */
  StoredIssuer forIssuance(Optional<String> issuerId) {
    if (issuerId != null && issuerId.isPresent()) {
      return requireNotRevoked(requireActive(stored(issuerId.get())));
    }
    String id = defaultId().orElseThrow(() -> KeywardenException.precondition(
        "no issuer yet: generate a root (or intermediate) issuer first"));
    return requireNotRevoked(requireActive(followSuccessors(stored(id))));
  }

  /** A revoked intermediate signs nothing new: relying parties that check revocation would refuse it. */
  private static StoredIssuer requireNotRevoked(StoredIssuer s) {
    if (s.revokedAt() != 0) {
      throw KeywardenException.precondition("issuer '" + s.id() + "' is revoked: its parent revoked its certificate"
          + (s.replacedBy() == null ? "; rotate it (a new key, signed again by its parent) or make another issuer the"
          + " default" : "; its successor is '" + s.replacedBy() + "'"));
    }
    return s;
  }

  /** In the transaction that revokes its certificate: the issuer {@code id} signs nothing from now on. */
  void markRevoked(StorageOps ops, String id, long at) {
    ops.get(ISSUERS + id).map(Issuers::read).ifPresent(s -> {
      if (s.revokedAt() == 0) {
        ops.put(ISSUERS + id, StoredJson.write(s.revoked(at)));
      }
    });
  }

  /** An issuer that publishes a CRL and answers OCSP: active or retired, never pending. */
  StoredIssuer publishing(String id) {
    StoredIssuer s = stored(id);
    if (s.state() == IssuerState.PENDING) {
      throw pendingRefusal(s);
    }
    return s;
  }

  private StoredIssuer followSuccessors(StoredIssuer s) {
    for (int hops = 0; s.state() == IssuerState.RETIRED && s.replacedBy() != null && hops < 16; hops++) {
      s = stored(s.replacedBy());
    }
    return s;
  }

  private static StoredIssuer requireActive(StoredIssuer s) {
    if (s.state() == IssuerState.PENDING) {
      throw pendingRefusal(s);
    }
    if (s.state() == IssuerState.RETIRED) {
      throw KeywardenException.precondition("issuer '" + s.id() + "' is retired: rotation replaced it with '"
          + s.replacedBy() + "', which issues now; name '" + s.replacedBy() + "' or no issuer (the default)");
    }
    return s;
  }

  private static void requirePending(StoredIssuer s) {
    if (s.state() != IssuerState.PENDING) {
      throw KeywardenException.precondition("issuer '" + s.id() + "' is " + s.state().stateName()
          + ", not pending: only an external intermediate waiting for its certificate takes one");
    }
  }

  private static KeywardenException pendingRefusal(StoredIssuer s) {
    return KeywardenException.precondition("issuer '" + s.id() + "' is pending: it has no certificate yet; have"
        + " the external CA sign its CSR, then call SetSignedIntermediate (keywarden pki set-signed-intermediate "
        + s.id() + " --cert FILE)");
  }

  /** The chain to hand out with a certificate: the issuer first, its Keywarden parents, then any external CAs. */
  /** The issuer's id, then its parent's, up to the root (or the external CA above an external intermediate). */
  List<String> lineage(StoredIssuer issuer) {
    List<String> ids = new ArrayList<>();
    StoredIssuer at = issuer;
    for (int depth = 0; at != null && depth < 16; depth++) {
      ids.add(at.id());
      at = at.parentId() == null ? null : store().get(ISSUERS + at.parentId()).map(Issuers::read).orElse(null);
    }
    return ids;
  }

  List<byte[]> chain(StoredIssuer issuer) {
    List<byte[]> out = new ArrayList<>();
    StoredIssuer at = issuer;
    for (int depth = 0; at != null && at.certificate() != null && depth < 16; depth++) {
      out.add(at.certificate().clone());
      at.chain().forEach(der -> out.add(der.clone()));
      // Every issuance under an intermediate walks this: cached records, each parsed once per version.
      at = at.parentId() == null || record(ISSUERS + at.parentId()).isEmpty() ? null : stored(at.parentId());
    }
    return out;
  }

  // ---- the key index (OCSP) ----

  /**
   * The ids of the issuers whose public key hashes, under the CertID hash algorithm {@code hashAlgorithm}, to
   * {@code keyHash}: one short range read of the key index. None for another hash algorithm. Builds the index first
   * on a store written before it (once; a handful of issuer records).
   */
  List<String> withKeyHash(org.bouncycastle.asn1.ASN1ObjectIdentifier hashAlgorithm, byte[] keyHash) {
    String alg = KEY_HASHES.get(hashAlgorithm);
    if (alg == null || keyHash == null || keyHash.length == 0 || keyHash.length > 64) {
      return List.of();
    }
    indexKeysOnce();
    String prefix = ISSUER_KEYS + alg + "/" + HexFormat.of().formatHex(keyHash) + "/";
    // more than a few issuers share a key only if someone made them so; 64 is far beyond any real chain
    return store().list(prefix, "", 64).stream().map(k -> k.substring(prefix.length())).toList();
  }

  private void indexKeysOnce() {
    if (store().get(ISSUER_KEYS_INDEXED).isPresent()) {
      return;
    }
    store().atomically(ops -> {
      for (String key : ops.list(ISSUERS)) {
        ops.get(key).map(Issuers::read).ifPresent(s -> keyIndexKeys(s).forEach(k -> ops.put(k, new byte[0])));
      }
      ops.put(ISSUER_KEYS_INDEXED, new byte[0]);
      return null;
    });
  }

  /** The issuer's entries in the key index: its public key's bits hashed with each CertID algorithm indexed. */
  private static List<String> keyIndexKeys(StoredIssuer s) {
    SubjectPublicKeyInfo spki = s.certificate() != null ? s.holder().getSubjectPublicKeyInfo()
        : s.request().getSubjectPublicKeyInfo();
    byte[] bits = spki.getPublicKeyData().getBytes();
    List<String> keys = new ArrayList<>();
    for (String alg : List.of("sha1", "sha256")) {
      try {
        byte[] hash = java.security.MessageDigest.getInstance(alg.equals("sha1") ? "SHA-1" : "SHA-256").digest(bits);
        keys.add(ISSUER_KEYS + alg + "/" + HexFormat.of().formatHex(hash) + "/" + s.id());
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has " + alg, e);
      }
    }
    return keys;
  }

  // ---- issued_until and removal ----

  /**
   * Records that {@code issuer} issued a certificate valid until {@code notAfter}, so its CRL and OCSP stay up that
   * long. Written only when it extends the stored value, rounded up to the hour so steady traffic writes at most
   * once an hour; a lost race is fine when the winner stored as much. FAILED_PRECONDITION when tidy removed the
   * issuer meanwhile: the certificate must then not be handed out.
   */
  void recordIssued(StoredIssuer issuer, Instant notAfter) {
    long needed = notAfter.getEpochSecond();
    if (needed <= issuer.issuedUntil()) {
      return;
    }
    CasRetry.untilStored("issuer '" + issuer.id() + "'", () -> {
      StoredEntry e = store().get(ISSUERS + issuer.id()).orElseThrow(() -> KeywardenException.precondition(
          "issuer '" + issuer.id() + "' was removed while a certificate was being issued; issue again"));
      StoredIssuer current = read(e);
      if (current.issuedUntil() >= needed) {
        return Optional.of(current);
      }
      byte[] updated = StoredJson.write(current.withIssuedUntil(roundUpToHour(needed)));
      return store().compareAndSet(ISSUERS + issuer.id(), e.version(), updated) ? Optional.of(current)
          : Optional.empty();
    });
  }

  static long roundUpToHour(long epochSecond) {
    return Math.floorDiv(epochSecond + HOUR - 1, HOUR) * HOUR;
  }

  /**
   * Removes retired issuers whose issued_until is before {@code now} (so everything they signed, intermediates
   * included, has expired), then destroys their HSM keys. Returns the removed ids.
   */
  List<String> removeExpiredRetired(Instant now) {
    List<String> removed = new ArrayList<>();
    for (StoredIssuer s : all()) {
      if (!expiredRetired(s, now)) {
        continue;
      }
      boolean gone = store().atomically(ops -> {
        Optional<StoredEntry> e = ops.get(ISSUERS + s.id());
        if (e.isEmpty() || !expiredRetired(read(e.get()), now)) {
          return false; // it issued again (a request that read it before it was retired) or is gone already
        }
        ops.delete(ISSUERS + s.id());
        keyIndexKeys(s).forEach(ops::delete);
        return true;
      });
      if (gone) {
        parsed.remove(s.id());
        destroyKey(s);
        removed.add(s.id());
      }
    }
    return removed;
  }

  private static boolean expiredRetired(StoredIssuer s, Instant now) {
    return s.state() == IssuerState.RETIRED && s.issuedUntil() < now.getEpochSecond();
  }

  private void destroyKey(StoredIssuer s) {
    try {
      core.unsealed().hsm().destroyKey(s.keyId());
    } catch (KeywardenException e) {
      log.warn("retired issuer '{}' removed; its HSM key '{}' was not destroyed: {}", s.id(), s.hsmLabel(),
          e.getMessage());
    }
  }

  // ---- helpers ----

  IssuerInfo info(StoredIssuer s, boolean isDefault) {
    Optional<Instant> notAfter = s.certificate() == null ? Optional.empty()
        : Optional.of(s.holder().getNotAfter().toInstant());
    Optional<String> csrPem = s.state() == IssuerState.PENDING
        ? Optional.of(Pem.block("CERTIFICATE REQUEST", s.csr())) : Optional.empty();
    return new IssuerInfo(s.id(), s.state(), s.subject().toString(), s.certificate(), s.keyType(),
        Optional.ofNullable(s.parentId()), s.external(), Optional.ofNullable(s.baseUrl()), notAfter, isDefault,
        csrPem, Optional.ofNullable(s.replaces()), Optional.ofNullable(s.replacedBy()),
        s.issuedUntil() == 0 ? Optional.empty() : Optional.of(Instant.ofEpochSecond(s.issuedUntil())),
        s.revokedAt() == 0 ? Optional.empty() : Optional.of(Instant.ofEpochSecond(s.revokedAt())));
  }

  private String newId() {
    byte[] b = new byte[8];
    random.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static StoredIssuer read(StoredEntry e) {
    return StoredJson.read(e.value(), StoredIssuer.class);
  }

  private static KeywardenException notFound(String id) {
    return KeywardenException.notFound("issuer '" + Inputs.quoted(id)
        + "' not found; list the issuers to see the known ids");
  }

  /** The storage, once the core is unsealed. */
  private Storage store() {
    core.unsealed();
    return core.storage();
  }
}
