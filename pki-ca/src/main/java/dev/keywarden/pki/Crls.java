package dev.keywarden.pki;

import static dev.keywarden.pki.PkiEngine.CRL_LIFETIME;
import static dev.keywarden.pki.PkiEngine.ISSUERS;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.StoredJson;
import dev.keywarden.unseal.Core;
import java.io.IOException;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issuers' CRLs: built and signed in the HSM, kept in memory and in storage ({@code pki/crls/ID}) so a restart
 * serves the same CRL, and rebuilt once half their life is gone — on request, after a revocation, or by
 * {@link #refresh}. Numbers are reserved in the issuer record before signing, so none is ever used twice.
 */
final class Crls {
  static final String CRLS = "pki/crls/";

  private static final Logger log = LoggerFactory.getLogger(Crls.class);

  private final Core core;
  private final Clock clock;
  private final Issuers issuers;
  private final Function<StoredIssuer, HsmContentSigner> signing;
  private final Function<String, List<RevokedCertificate>> revocations;
  /** Each issuer's current CRL with its nextUpdate, read once: a large CRL is not parsed again per request. */
  private final Map<String, Cached> cache = new ConcurrentHashMap<>();

  private record Cached(byte[] der, Instant nextUpdate) {
    static Cached of(byte[] der) {
      try {
        Date next = new X509CRLHolder(der).getNextUpdate();
        return new Cached(der, next == null ? Instant.MIN : next.toInstant());
      } catch (IOException e) {
        return new Cached(der, Instant.MIN); // unreadable: stale, so it is rebuilt
      }
    }
  }

  Crls(Core core, Clock clock, Issuers issuers, Function<StoredIssuer, HsmContentSigner> signing,
      Function<String, List<RevokedCertificate>> revocations) {
    this.core = core;
    this.clock = clock;
    this.issuers = issuers;
    this.signing = signing;
    this.revocations = revocations;
    // a CRL rebuilt by another server sharing the store (after a revocation there) replaces ours on the next request
    dev.keywarden.storage.CacheFeed.watch(core.storage(), CRLS, cache::remove, cache::clear);
  }

  /** The issuer's current CRL (DER); FAILED_PRECONDITION for a pending issuer. */
  byte[] current(String issuerId) {
    issuers.publishing(issuerId);
    Cached cached = cache.get(issuerId);
    if (cached != null && !stale(cached)) {
      return cached.der().clone();
    }
    synchronized (this) {
      byte[] fresh = fresh(issuerId);
      return fresh != null ? fresh.clone() : rebuild(issuerId);
    }
  }

  /** The cached or stored CRL while it is not stale; null otherwise. Callers hold the lock. */
  private byte[] fresh(String issuerId) {
    Cached cached = cache.get(issuerId);
    if (cached != null && !stale(cached)) {
      return cached.der();
    }
    Optional<Cached> stored = store().get(CRLS + issuerId).map(e -> Cached.of(e.value()));
    if (stored.isPresent() && !stale(stored.get())) {
      cache.put(issuerId, stored.get());
      return stored.get().der();
    }
    return null;
  }

  /**
   * Builds, stores and caches a new CRL. Under the lock, so a build that listed revocations earlier can never replace
   * a later one.
   */
  synchronized byte[] rebuild(String issuerId) {
    byte[] built = build(issuerId);
    store().put(CRLS + issuerId, built);
    cache.put(issuerId, Cached.of(built));
    return built.clone();
  }

  /**
   * Rebuilds the CRL of every active or retired issuer whose CRL is missing or past half its life; returns their ids.
   * Nothing while sealed. A failure for one issuer is logged and the others still get theirs.
   */
  List<String> refresh() {
    if (core.isSealed()) {
      return List.of();
    }
    List<String> rebuilt = new ArrayList<>();
    for (StoredIssuer s : issuers.all()) {
      if (s.state() == IssuerState.PENDING) {
        continue;
      }
      try {
        if (needsRebuild(s.id())) {
          rebuild(s.id());
          rebuilt.add(s.id());
        }
      } catch (KeywardenException e) {
        log.warn("issuer '{}': CRL not rebuilt: {}", s.id(), e.getMessage());
      } catch (RuntimeException e) {
        log.warn("issuer '{}': CRL not rebuilt: {}", s.id(), e.getClass().getName());
      }
    }
    return rebuilt;
  }

  private synchronized boolean needsRebuild(String issuerId) {
    return fresh(issuerId) == null;
  }

  /** Forgets the issuer's CRL, cached and stored: the next request builds a new one. */
  synchronized void forget(String issuerId) {
    cache.remove(issuerId);
    store().delete(CRLS + issuerId);
  }

  /** Drops the in-memory copies (on seal). */
  void clear() {
    cache.clear();
  }

  private boolean stale(Cached crl) {
    return !crl.nextUpdate().isAfter(clock.instant().plus(CRL_LIFETIME.dividedBy(2)));
  }

  private byte[] build(String issuerId) {
    StoredIssuer issuer = reserveNumber(issuerId);
    X509CertificateHolder ca = issuer.holder();
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    X509v2CRLBuilder b = new X509v2CRLBuilder(ca.getSubject(), Date.from(now));
    b.setNextUpdate(Date.from(now.plus(CRL_LIFETIME)));
    for (RevokedCertificate r : revocations.apply(issuerId)) {
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
    X509CRLHolder crl = b.build(signing.apply(issuer));
    requireSignedBy(issuerId, crl, ca);
    try {
      return crl.getEncoded();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reserves the next number first: a crash after this wastes a number, never reuses one. */
  private StoredIssuer reserveNumber(String issuerId) {
    return store().atomically(ops -> {
      StoredEntry e = ops.get(ISSUERS + issuerId).orElseThrow(() -> KeywardenException.notFound(
          "issuer '" + issuerId + "' not found"));
      StoredIssuer s = StoredJson.read(e.value(), StoredIssuer.class);
      if (s.state() == IssuerState.PENDING) {
        throw KeywardenException.precondition("issuer '" + issuerId + "' is pending and signs no CRL yet");
      }
      if (!ops.compareAndSet(ISSUERS + issuerId, e.version(),
          StoredJson.write(s.withNextCrlNumber(s.nextCrlNumber() + 1)))) {
        throw new IllegalStateException("issuer " + issuerId + " changed inside a transaction");
      }
      return s;
    });
  }

  private static void requireSignedBy(String issuerId, X509CRLHolder crl, X509CertificateHolder ca) {
    if (!SignatureCheck.crlSignedBy(crl, SignatureCheck.key(ca.getSubjectPublicKeyInfo()))) {
      throw new IllegalStateException("issuer '" + issuerId + "': the HSM made a CRL signature its certificate's key"
          + " does not verify");
    }
  }


  private Storage store() {
    core.unsealed();
    return core.storage();
  }
}
