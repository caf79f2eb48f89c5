package dev.keywarden.server.auth.cert;

import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.storage.CacheFeed;
import dev.keywarden.server.auth.Caller;
import dev.keywarden.server.gate.Authenticator;
import dev.keywarden.server.gate.CallCredentials;
import dev.keywarden.unseal.Core;
import io.grpc.Metadata;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * A TLS client certificate as the credential of every call it makes (no token), and the check behind cert Login.
 *
 * <p>The role is the one the {@code keywarden-cert-role} header names; without the header, the one role the
 * certificate matches (several: UNAUTHENTICATED asking the caller to choose one). An expired, not yet valid or revoked
 * certificate, one without the clientAuth extended key usage, and one matching no role are UNAUTHENTICATED, saying
 * which rule failed; role names are only shown to a caller who named them.
 *
 * <p>Verdicts are cached by the SHA-256 of the leaf certificate and the role header, so a call on a known certificate
 * costs a hash lookup and an expiry check. The cache is emptied on every PKI revocation, every cert role change and on
 * seal; a verdict computed while one of those happened is not kept (a generation counter, read before and after).
 * Only successes are cached.
 */
public final class CertAuthenticator implements Authenticator {
  /** The header naming the cert role a per-call certificate is checked against. */
  public static final Metadata.Key<String> ROLE_HEADER =
      Metadata.Key.of("keywarden-cert-role", Metadata.ASCII_STRING_MARSHALLER);
  static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final String SESSION_KEY = "dev.keywarden.client-cert-sha256";
  private static final int CACHE_LIMIT = 100_000;

  private final CertRoleRecords roles;
  private final CertRoleMatcher matcher;
  private final Clock clock;
  private final ConcurrentHashMap<String, Verdict> verdicts = new ConcurrentHashMap<>();
  private final AtomicLong generation = new AtomicLong();

  /** What a certificate authenticated as: its role and the caller it stands for. */
  public record Verdict(CertRole role, Caller caller, String serial, String commonName, long notAfter) {}

  public CertAuthenticator(Core core, CertRoleRecords roles, PkiEngine pki, Clock clock) {
    this.roles = roles;
    this.matcher = new CertRoleMatcher(pki);
    this.clock = clock;
    roles.addChangeListener(this::invalidate);
    pki.addRevocationListener(r -> invalidate());
    // a certificate revoked by another server sharing the store: every verdict goes here too
    CacheFeed.watch(core.storage(), PkiEngine.REVOCATIONS_PREFIX, serial -> invalidate(), this::invalidate);
    core.addSealListener(this::invalidate);
  }

  @Override
  public Optional<Caller> authenticate(CallCredentials credentials) {
    Optional<SSLSession> session = credentials.tlsSession();
    if (session.isEmpty()) {
      return Optional.empty();
    }
    X509Certificate[] chain = peerChain(session.get());
    if (chain == null) {
      return Optional.empty();
    }
    String role = credentials.headers().get(ROLE_HEADER);
    return Optional.of(verdict(session.get(), chain, role == null || role.isEmpty() ? null : role).caller());
  }

  @Override
  public String howToPresent() {
    return "connect over TLS with a client certificate a cert role accepts (CLI: --client-cert and --client-key)";
  }

  /**
   * The verdict on the call's client certificate for the named role (cert Login); UNAUTHENTICATED when the call has
   * no client certificate or it does not match.
   */
  public Verdict login(CallCredentials credentials, String role) {
    SSLSession session = credentials.tlsSession().orElseThrow(() -> new KeywardenException(Kind.UNAUTHENTICATED,
        "cert login needs a client certificate, and this call did not come over TLS"));
    X509Certificate[] chain = peerChain(session);
    if (chain == null) {
      throw new KeywardenException(Kind.UNAUTHENTICATED, "cert login needs a client certificate, and this call"
          + " presented none (CLI: --client-cert and --client-key)");
    }
    return verdict(session, chain, role);
  }

  /** Forgets every verdict (a revocation, a role change, a seal). */
  public void invalidate() {
    generation.incrementAndGet();
    verdicts.clear();
  }

  private Verdict verdict(SSLSession session, X509Certificate[] chain, String role) {
    String key = certificateKey(session, chain[0]) + (role == null ? "" : "\n" + role);
    Verdict cached = verdicts.get(key);
    long now = clock.millis();
    if (cached != null) {
      if (now <= cached.notAfter()) {
        return cached;
      }
      verdicts.remove(key, cached);
    }
    long before = generation.get();
    Verdict fresh = decide(chain, role, Instant.ofEpochMilli(now));
    if (verdicts.size() > CACHE_LIMIT) {
      verdicts.clear();
    }
    if (generation.get() == before) {
      verdicts.put(key, fresh);
      if (generation.get() != before) {
        verdicts.remove(key, fresh); // an invalidation ran while it was put: it may be stale
      }
    }
    return fresh;
  }

  private Verdict decide(X509Certificate[] chain, String roleName, Instant now) {
    X509Certificate leaf = chain[0];
    String serial = leaf.getSerialNumber().toString(16);
    String shown = "the client certificate (serial " + serial + ")";
    try {
      leaf.checkValidity(Date.from(now));
    } catch (CertificateExpiredException e) {
      throw new KeywardenException(Kind.UNAUTHENTICATED, shown + " expired at " + leaf.getNotAfter().toInstant());
    } catch (CertificateNotYetValidException e) {
      throw new KeywardenException(Kind.UNAUTHENTICATED, shown + " is not valid before "
          + leaf.getNotBefore().toInstant());
    }
    if (!hasClientAuth(leaf)) {
      throw new KeywardenException(Kind.UNAUTHENTICATED, shown + " has no clientAuth extended key usage; a cert"
          + " role accepts only certificates issued for TLS client authentication");
    }
    CertRoleMatcher.Names names = CertRoleMatcher.Names.of(leaf);
    if (roleName != null) {
      CertRole role = roles.find(roleName).orElseThrow(() -> new KeywardenException(Kind.UNAUTHENTICATED,
          shown + " does not match cert role '" + Inputs.quoted(roleName) + "': there is no such role"));
      String why = matcher.mismatch(role, chain, names, now);
      if (why != null) {
        throw new KeywardenException(Kind.UNAUTHENTICATED, shown + " does not match cert role '" + role.name()
            + "': " + why);
      }
      return verdict(role, leaf, serial, names);
    }
    List<CertRole> matching = new ArrayList<>();
    LinkedHashSet<String> reasons = new LinkedHashSet<>();
    for (CertRole role : roles.all()) {
      String why = matcher.mismatch(role, chain, names, now);
      if (why == null) {
        matching.add(role);
      } else {
        reasons.add(why);
      }
    }
    if (matching.size() == 1) {
      return verdict(matching.get(0), leaf, serial, names);
    }
    if (matching.size() > 1) {
      throw new KeywardenException(Kind.UNAUTHENTICATED, shown + " matches " + matching.size() + " cert roles;"
          + " choose one with the header 'keywarden-cert-role: NAME' (CLI: --cert-role)");
    }
    throw new KeywardenException(Kind.UNAUTHENTICATED, shown + " matches no cert role"
        + (reasons.isEmpty() ? "" : ": " + String.join("; or ", reasons)));
  }

  private static Verdict verdict(CertRole role, X509Certificate leaf, String serial, CertRoleMatcher.Names names) {
    long notAfter = leaf.getNotAfter().getTime();
    Caller caller = new Caller("cert", "", role.policies(), "cert:" + role.name(),
        Map.of("role", role.name(), "serial", serial, "common_name", names.commonName()), notAfter);
    return new Verdict(role, caller, serial, names.commonName(), notAfter);
  }

  private static boolean hasClientAuth(X509Certificate leaf) {
    try {
      List<String> eku = leaf.getExtendedKeyUsage();
      return eku != null && eku.contains(CLIENT_AUTH);
    } catch (CertificateParsingException e) {
      return false;
    }
  }

  /** The client's chain, leaf first; null when it sent none. */
  private static X509Certificate[] peerChain(SSLSession session) {
    Certificate[] peer;
    try {
      peer = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException none) {
      return null;
    }
    if (peer == null || peer.length == 0) {
      return null;
    }
    int n = Math.min(peer.length, CertRoleMatcher.MAX_CHAIN);
    X509Certificate[] chain = new X509Certificate[n];
    for (int i = 0; i < n; i++) {
      if (!(peer[i] instanceof X509Certificate x)) {
        return null;
      }
      chain[i] = x;
    }
    return chain;
  }

  /**
   * The leaf's SHA-256, kept in the TLS session once computed: every call on a connection has the same peer
   * certificate, so only the first call of a session hashes it.
   */
  private static String certificateKey(SSLSession session, X509Certificate leaf) {
    Object known = session.getValue(SESSION_KEY);
    if (known instanceof String s) {
      return s;
    }
    try {
      String key = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(leaf.getEncoded()));
      session.putValue(SESSION_KEY, key);
      return key;
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      throw new IllegalStateException("cannot hash the client certificate", e);
    }
  }
}
