package dev.keywarden.ssh;

import static dev.keywarden.ssh.SshRecords.CAS;
import static dev.keywarden.ssh.SshRecords.CERTS;
import static dev.keywarden.ssh.SshRecords.KRL;
import static dev.keywarden.ssh.SshRecords.REVOKED;
import static dev.keywarden.ssh.SshRecords.REVOKED_IDS;
import static dev.keywarden.ssh.SshRecords.ROLES;
import static dev.keywarden.ssh.SshRecords.json;
import static dev.keywarden.ssh.SshRecords.read;
import static java.nio.charset.StandardCharsets.UTF_8;

import dev.keywarden.callerjson.CallerJson;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.ssh.SshRecords.KrlVersion;
import dev.keywarden.ssh.SshRecords.RevokedKeyId;
import dev.keywarden.ssh.SshRecords.Revocation;
import dev.keywarden.ssh.SshRecords.StoredCa;
import dev.keywarden.ssh.SshRecords.StoredCaKey;
import dev.keywarden.ssh.SshRecords.StoredCert;
import dev.keywarden.storage.CasRetry;
import dev.keywarden.storage.ReadThroughCache;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.SignerCache;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenSSH CA engine over {@link Core}: named CAs whose keys live in the HSM (sign-only, never extractable), roles,
 * user and host certificates (each signed by one HSM call), revocation and KRLs, all kept in storage under
 * {@code ssh/} (see {@link SshRecords}). Rotation puts a new key in front; the old one stays published (trusted keys,
 * known_hosts, KRL) until every certificate it signed has expired, then {@link #tidy} destroys it.
 */
public final class SshEngine {
  private static final Logger log = LoggerFactory.getLogger(SshEngine.class);
  private static final Pattern CA_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
  private static final Pattern DECIMAL = Pattern.compile("[0-9]{1,20}");
  private static final long HOUR = 3600;
  private static final int SERIAL_ATTEMPTS = 8;
  /** Index entries (or, building the index, certificates) read per page and written per transaction. */
  static final int INDEX_PAGE = 500;
  private static final byte[] NO_VALUE = new byte[0];
  /** The comment on published CA keys, so operators see where a line came from. */
  static final String COMMENT_PREFIX = "keywarden-ca:";

  private final Core core;
  private final Clock clock;
  private final SecureRandom random;
  private final SignerCache signers;
  /** Roles as last read (storage prefix ssh/roles/). */
  private final ReadThroughCache<String, SshRole> roles = new ReadThroughCache<>();
  /** KRLs by CA name, valid while the CA's stored KRL version and published keys are what they were built from. */
  private final Map<String, CachedKrl> krls = new ConcurrentHashMap<>();

  private record CachedKrl(long version, List<String> keyIds, byte[] krl) {}

  /**
   * What signing needs of a CA, read once so the hot path reads no storage: its record (prefix ssh/cas/) and the key
   * ids revoked on it (prefix ssh/revoked-ids/NAME/; key id → until, epoch seconds). Forgotten on every change this
   * engine makes to the CA and when the core seals.
   */
  private record SigningState(StoredCa ca, HsmKeyId signerKeyId, Map<String, Long> revokedKeyIds) {}

  private final ReadThroughCache<String, SigningState> signing = new ReadThroughCache<>();
  /** The default CA names (storage prefix ssh/config/default-). */
  private final ReadThroughCache<CertType, Optional<String>> defaults = new ReadThroughCache<>();
  /** Signers whose first signature verified against the CA's stored public key (cache keys), until the core seals. */
  private final Set<String> provenSigners = ConcurrentHashMap.newKeySet();
  /** The signers' public keys as sshd-common encodes them (cache keys as above), until the core seals. */
  private final Map<String, PublicKey> sshdCaKeys = new ConcurrentHashMap<>();
  /** True once this process has seen {@link SshRecords#INDEXED}: no storage read for it on each use. */
  private volatile boolean indexed;

  /** The CA name in the rest of a key under ssh/cas/ or ssh/revoked-ids/. */
  private static String firstSegment(String rest) {
    int slash = rest.indexOf('/');
    return slash < 0 ? rest : rest.substring(0, slash);
  }

  /** An engine over {@code core}; its caches (signers, roles, KRLs) are dropped when the core seals. */
  public SshEngine(Core core, Clock clock, SecureRandom random) {
    this.core = core;
    this.clock = clock;
    this.random = random;
    this.signers = new SignerCache(core);
    core.addSealListener(roles::forgetAll);
    // changes made by other servers sharing the store: roles by name, a CA's signing state by its record or its
    // revoked key ids, the defaults all at once
    roles.watching(core.storage(), SshRecords.ROLES, name -> name);
    signing.watching(core.storage(), SshRecords.CAS, SshEngine::firstSegment)
        .watching(core.storage(), SshRecords.REVOKED_IDS, SshEngine::firstSegment);
    defaults.watching(core.storage(), "ssh/config/default-", rest -> null);
    core.addSealListener(krls::clear);
    core.addSealListener(() -> forgetCa(null));
    core.addSealListener(provenSigners::clear);
    core.addSealListener(sshdCaKeys::clear);
  }

  // ---- CAs ----

  /**
   * Creates a CA: a key pair made in the HSM (ed25519 when {@code keyType} is null; RSA only as rsa-3072 or rsa-4096).
   * ALREADY_EXISTS when the name is taken. With {@code makeDefaultFor}, it becomes the default for that type.
   */
  public SshCaInfo createCa(String name, KeyType keyType, Optional<CertType> makeDefaultFor) {
    checkCaName("name: ", name);
    KeyType type = caKeyType(keyType);
    if (store().get(CAS + name).isPresent()) {
      throw KeywardenException.alreadyExists("SSH CA '" + name + "' exists; rotate it to give it a new key");
    }
    StoredCaKey key = newKey(name, type);
    try {
      store().atomically(ops -> {
        if (!ops.compareAndSet(CAS + name, 0, json(new StoredCa(name, List.of(key))))) {
          throw KeywardenException.alreadyExists("SSH CA '" + name + "' was created meanwhile");
        }
        if (makeDefaultFor != null && makeDefaultFor.isPresent()) {
          ops.put(SshRecords.defaultCa(makeDefaultFor.get()), name.getBytes(UTF_8));
        }
        return null;
      });
    } catch (RuntimeException e) {
      destroyQuietly(key, e);
      throw e;
    } finally {
      forgetCa(name);
    }
    return ca(name);
  }

  /**
   * Gives a CA a new signing key (of {@code keyType}, or the current type when empty). The old key signs nothing
   * more but stays published until every certificate it signed has expired.
   */
  public SshCaInfo rotateCa(String name, Optional<KeyType> keyType) {
    StoredCa current = storedCa(name);
    KeyType type = keyType == null || keyType.isEmpty() ? current.signer().keyType() : caKeyType(keyType.get());
    StoredCaKey fresh = newKey(name, type);
    try {
      CasRetry.untilStored("SSH CA '" + name + "'", () -> {
        StoredEntry e = store().get(CAS + name).orElseThrow(() -> caNotFound(name));
        StoredCa ca = read(e.value(), StoredCa.class);
        List<StoredCaKey> keys = new ArrayList<>();
        keys.add(fresh);
        long now = clock.instant().getEpochSecond();
        for (StoredCaKey k : ca.keys()) {
          keys.add(k.retiredAt() == 0 ? k.retired(now) : k);
        }
        return store().compareAndSet(CAS + name, e.version(), json(ca.withKeys(keys)))
            ? Optional.of(true) : Optional.empty();
      });
    } catch (RuntimeException e) {
      destroyQuietly(fresh, e);
      throw e;
    } finally {
      forgetCa(name);
    }
    bumpKrl(name);
    return ca(name);
  }

  /** Every CA, sorted by name. */
  public List<SshCaInfo> cas() {
    List<SshCaInfo> out = new ArrayList<>();
    for (String key : store().list(CAS)) {
      store().get(key).ifPresent(e -> out.add(info(read(e.value(), StoredCa.class))));
    }
    return out;
  }

  /** One CA; NOT_FOUND when there is none by that name. */
  public SshCaInfo ca(String name) {
    return info(storedCa(name));
  }

  /** Makes {@code name} the CA used for {@code type} when neither the request nor the role names one. */
  public void setDefaultCa(CertType type, String name) {
    if (type == null) {
      throw KeywardenException.invalid("cert_type is required: \"user\" or \"host\"");
    }
    storedCa(name);
    try {
      store().put(SshRecords.defaultCa(type), name.getBytes(UTF_8));
    } finally {
      forgetCa(null);
    }
  }

  /** sshd's TrustedUserCAKeys lines: one per published key, newest first ("ssh-ed25519 AAAA… keywarden-ca:NAME"). */
  public String trustedUserCaKeys(String name) {
    StringBuilder b = new StringBuilder();
    for (StoredCaKey k : published(storedCa(name))) {
      b.append(k.publicKey()).append(' ').append(COMMENT_PREFIX).append(name).append('\n');
    }
    return b.toString();
  }

  /** known_hosts lines for a host CA: "@cert-authority PATTERN KEY keywarden-ca:NAME" per published key. */
  public String knownHosts(String name, String hostPattern) {
    String pattern = hostPattern == null || hostPattern.isEmpty() ? "*" : hostPattern;
    if (pattern.length() > 1024 || !pattern.chars().allMatch(c -> c > 0x20 && c < 0x7f) || pattern.startsWith("@")
        || pattern.startsWith("#")) {
      throw KeywardenException.invalid("host_pattern: '" + Inputs.quoted(pattern) + "' is not a known_hosts host"
          + " pattern (comma-separated names and globs, no spaces)");
    }
    StringBuilder b = new StringBuilder();
    for (StoredCaKey k : published(storedCa(name))) {
      b.append("@cert-authority ").append(pattern).append(' ').append(k.publicKey()).append(' ')
          .append(COMMENT_PREFIX).append(name).append('\n');
    }
    return b.toString();
  }

  /**
   * The CA's KRL (OpenSSH binary format) for sshd's RevokedKeys: for every published key, the serials revoked under
   * it, and the key ids revoked on the CA. Cached; rebuilt after a revocation, rotation or tidy (here or on another
   * server: the stored KRL version says so) and when a retired key stops being published.
   */
  public byte[] krl(String name) {
    StoredCa ca = storedCa(name);
    long version = store().get(KRL + name).map(e -> read(e.value(), KrlVersion.class).version()).orElse(0L);
    List<StoredCaKey> keys = published(ca);
    List<String> ids = keys.stream().map(StoredCaKey::id).toList();
    CachedKrl cached = krls.get(name);
    if (cached != null && cached.version() == version && cached.keyIds().equals(ids)) {
      return cached.krl().clone();
    }
    TreeSet<String> revokedIds = new TreeSet<>();
    long now = clock.instant().getEpochSecond();
    for (RevokedKeyId r : revokedKeyIds(store(), name)) {
      if (r.until() >= now) {
        revokedIds.add(r.keyId());
      }
    }
    List<KrlWriter.Section> sections = new ArrayList<>();
    for (StoredCaKey k : keys) {
      TreeSet<Long> serials = new TreeSet<>();
      String prefix = REVOKED + name + "/" + k.id() + "/";
      for (String key : store().list(prefix)) {
        serials.add(Long.parseUnsignedLong(key.substring(prefix.length())));
      }
      sections.add(new KrlWriter.Section(SshPublicKeys.blob(caPublicKey(k)), serials, revokedIds));
    }
    byte[] krl = KrlWriter.write(version, now, COMMENT_PREFIX + name, sections);
    krls.put(name, new CachedKrl(version, ids, krl));
    return krl.clone();
  }

  // ---- roles ----

  /** Creates or replaces a role; a role naming a CA needs that CA to exist. */
  public void writeRole(SshRole role) {
    if (role == null) {
      throw KeywardenException.invalid("role is missing");
    }
    if (role.ca() != null) {
      storedCa(role.ca());
    }
    store().put(ROLES + role.name(), role.toJson().getBytes(UTF_8));
    roles.forget(role.name());
  }

  /** One role; NOT_FOUND when there is none by that name. */
  public SshRole role(String name) {
    Storage storage = store();
    if (name == null) {
      SshRole.checkName(null);
    }
    return roles.get(name, n -> storage.get(ROLES + SshRole.checkName(n)) // cached names were checked once
        .map(e -> CallerJson.readStored("SSH role '" + Inputs.quoted(n) + "'",
            () -> SshRole.fromJson(new String(e.value(), UTF_8))))
        .orElseThrow(() -> KeywardenException.notFound("SSH role '" + Inputs.quoted(n)
            + "' not found; create it first or list the roles")));
  }

  /**
   * One page of the role names, sorted: at most {@code limit} after {@code after} (exclusive; "" for the first
   * page). One range read of storage, however many there are.
   */
  public List<String> listRoles(String after, int limit) {
    return store().list(ROLES, after.isEmpty() ? "" : ROLES + after, limit).stream()
        .map(k -> k.substring(ROLES.length())).toList();
  }

  /** Whether a role of this name is stored (one read). */
  public boolean roleExists(String name) {
    return store().get(ROLES + name).isPresent();
  }

  /** Deletes a role; NOT_FOUND when there is none. Certificates already signed stay valid. */
  public void deleteRole(String name) {
    role(name);
    store().delete(ROLES + name);
    roles.forget(name);
  }

  // ---- signing ----

  /** Certifies the caller's public key under {@code roleName}; INVALID_ARGUMENT names what the role refused. */
  public SignedSshCertificate sign(String roleName, SshIdentity caller, SignRequest request) {
    if (request == null) {
      throw KeywardenException.invalid("request is missing");
    }
    SshRole role = role(roleName);
    SshPublicKeys.Parsed key = SshPublicKeys.parse("public_key", request.publicKey());
    SshKeyRules.check(role, key);
    return certify(role, identity(caller), key.key(), request.principals(), request.ttl(), request.keyId(),
        request.extensions(), request.criticalOptions(), request.caName());
  }

  /**
   * Makes a key pair of the request's (or the role's) key type in software, certifies it, and returns the private key
   * in OpenSSH's format (unencrypted; never stored) with its certificate.
   */
  public IssuedSshKey issue(String roleName, SshIdentity caller, IssueRequest request) {
    if (request == null) {
      throw KeywardenException.invalid("request is missing");
    }
    SshRole role = role(roleName);
    KeyType type = request.keyType().orElse(role.keyType());
    SshKeyRules.checkIssuedType("key_type: role '" + role.name() + "': ", role.allowedUserKeyTypes(),
        role.minRsaBits(), type);
    SshIdentity who = identity(caller);
    // Refuse what the role refuses before spending time on an RSA key.
    SshRoleRules.decide(role, who, request.principals(), request.ttl(), request.extensions(),
        request.criticalOptions(), clock.instant());
    KeyPair pair = SshPublicKeys.forSshd(type.newSoftwareKeyPair(random));
    SignedSshCertificate cert = certify(role, who, pair.getPublic(), request.principals(), request.ttl(),
        request.keyId(), request.extensions(), request.criticalOptions(), request.caName());
    String publicLine = SshPublicKeys.line(pair.getPublic(), cert.keyId().replaceAll("\\s", "_"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] bytes = null;
    try {
      OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(pair, cert.keyId().replaceAll("\\s", "_"), null, out);
      bytes = out.toByteArray();
      return new IssuedSshKey(cert, new String(bytes, UTF_8), publicLine);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("an OpenSSH private key always encodes", e);
    } finally {
      if (bytes != null) {
        Arrays.fill(bytes, (byte) 0);
      }
      out.reset();
    }
  }

  private SignedSshCertificate certify(SshRole role, SshIdentity caller, PublicKey subject, List<String> principals,
      Optional<java.time.Duration> ttl, Optional<String> keyId, Map<String, String> extensions,
      Map<String, String> criticalOptions, Optional<String> caName) {
    SshRoleRules.Decided d = SshRoleRules.decide(role, caller, principals, ttl, extensions, criticalOptions,
        clock.instant());
    SigningState state = caFor(role, caName);
    StoredCa ca = state.ca();
    StoredCaKey signerKey = ca.signer();
    HsmSigner signer = signer(ca.name(), signerKey, state.signerKeyId());
    String signerKeyName = cacheKey(ca.name(), signerKey);
    for (int attempt = 0; attempt < SERIAL_ATTEMPTS; attempt++) {
      long serial = newSerial();
      String serialText = Long.toUnsignedString(serial);
      String id = SshRoleRules.keyId(role, caller, keyId, ca.name(), serialText);
      refuseRevokedKeyId(state, id);
      boolean prove = !provenSigners.contains(signerKeyName);
      CertificateEncoder.Encoded cert = CertificateEncoder.sign(new CertificateEncoder.Contents(subject, serial,
          role.certType(), id, d.principals(), d.validAfter(), d.validBefore(), d.criticalOptions(),
          d.extensions()), signer, sshdCaKeys.computeIfAbsent(signerKeyName, k -> SshPublicKeys.forSshd(
              signer.publicKey())), random, prove);
      if (prove) {
        provenSigners.add(signerKeyName);
      }
      String line = cert.line(id.replaceAll("\\s", "_"));
      // Before the certificate is handed out: its CA key stays published at least as long as it is valid.
      recordSigned(ca.name(), signerKey, d.validBefore());
      SignedSshCertificate signed = new SignedSshCertificate(serialText, ca.name(), line,
          Instant.ofEpochSecond(d.validAfter()), Instant.ofEpochSecond(d.validBefore()), d.principals(), id,
          role.certType());
      if (role.noStore()) {
        return signed;
      }
      StoredCert stored = new StoredCert(serialText, ca.name(), signerKey.id(), id, role.certType(), d.principals(),
          d.validAfter(), d.validBefore(), line, 0, true, true);
      boolean written = store().atomically(ops -> {
        if (!ops.compareAndSet(CERTS + serialText, 0, json(stored))) {
          return false;
        }
        ops.put(SshRecords.byKeyId(stored), NO_VALUE);
        ops.put(SshRecords.certExpiry(stored), NO_VALUE);
        return true;
      });
      if (written) {
        return signed;
      }
      // A 64-bit random serial collided with a stored one: sign again under a fresh serial rather than overwrite.
    }
    throw new IllegalStateException("no free serial after " + SERIAL_ATTEMPTS + " attempts");
  }

  private long newSerial() {
    long s;
    do {
      s = random.nextLong();
    } while (s == 0);
    return s;
  }

  private void refuseRevokedKeyId(SigningState state, String keyId) {
    Long until = state.revokedKeyIds().get(keyId);
    if (until != null && until >= clock.instant().getEpochSecond()) {
      throw KeywardenException.precondition("key id '" + Inputs.quoted(keyId) + "' is revoked on SSH CA '"
          + state.ca().name() + "' until " + Instant.ofEpochSecond(until) + "; a certificate with it would be refused"
          + " by every server using the KRL");
    }
  }

  /**
   * Raises the signing key's signed_until to cover {@code validBefore} (rounded up to the hour, so this writes about
   * once an hour; {@code cached} is the key as the signing state holds it, and covers most calls with no read).
   */
  private void recordSigned(String caName, StoredCaKey cached, long validBefore) {
    long needed = Math.floorDiv(validBefore + HOUR - 1, HOUR) * HOUR;
    if (cached.signedUntil() >= needed) {
      return;
    }
    String keyId = cached.id();
    try {
      raiseSignedUntil(caName, keyId, needed);
    } finally {
      forgetCa(caName);
    }
  }

  private void raiseSignedUntil(String caName, String keyId, long needed) {
    CasRetry.untilStored("SSH CA '" + caName + "'", () -> {
      StoredEntry e = store().get(CAS + caName).orElseThrow(() -> KeywardenException.precondition(
          "SSH CA '" + caName + "' was removed while a certificate was being signed; sign again"));
      StoredCa ca = read(e.value(), StoredCa.class);
      StoredCaKey k = ca.key(keyId);
      if (k == null) {
        throw KeywardenException.precondition("SSH CA '" + caName + "': key " + keyId + " was removed while a"
            + " certificate was being signed; sign again");
      }
      if (k.signedUntil() >= needed) {
        return Optional.of(true);
      }
      return store().compareAndSet(CAS + caName, e.version(), json(ca.replace(k.signedUntil(needed))))
          ? Optional.of(true) : Optional.empty();
    });
  }

  private SigningState caFor(SshRole role, Optional<String> requested) {
    if (requested != null && requested.isPresent() && !requested.get().isEmpty()) {
      String name = requested.get();
      if (role.ca() != null && !role.ca().equals(name)) {
        throw KeywardenException.invalid("ca: role '" + role.name() + "' signs only with SSH CA '" + role.ca()
            + "'; leave ca unset or name that one");
      }
      return signingState(name);
    }
    if (role.ca() != null) {
      return signingState(role.ca());
    }
    String name = defaultCa(role.certType())
        .orElseThrow(() -> KeywardenException.precondition("no default SSH CA for " + role.certType().typeName()
            + " certificates: create one with make_default_for=" + role.certType().typeName()
            + ", set a default, or name the CA in the role"));
    return signingState(name);
  }

  private Optional<String> defaultCa(CertType type) {
    Storage storage = store();
    return defaults.get(type, t -> storage.get(SshRecords.defaultCa(t)).map(e -> new String(e.value(), UTF_8)));
  }

  private SigningState signingState(String name) {
    checkCaName("ca: ", name);
    Storage storage = store();
    return signing.get(name, n -> {
      StoredCa ca = storedCa(n);
      Map<String, Long> revoked = new java.util.HashMap<>();
      for (RevokedKeyId r : revokedKeyIds(storage, n)) {
        revoked.put(r.keyId(), r.until());
      }
      return new SigningState(ca, ca.signer().hsmKeyId(), Map.copyOf(revoked));
    });
  }

  /** The key ids revoked on CA {@code name} (prefix ssh/revoked-ids/NAME/), read a page of records at a time. */
  private static List<RevokedKeyId> revokedKeyIds(Storage storage, String name) {
    String prefix = REVOKED_IDS + name + "/";
    List<RevokedKeyId> out = new ArrayList<>();
    String after = "";
    while (true) {
      List<StoredEntry> page = storage.entries(prefix, after, INDEX_PAGE);
      page.forEach(e -> out.add(read(e.value(), RevokedKeyId.class)));
      if (page.size() < INDEX_PAGE) {
        return out;
      }
      after = page.get(page.size() - 1).key();
    }
  }

  /** Drops what signing cached of CA {@code name} (every CA when null) and the defaults, after a change to it. */
  private void forgetCa(String name) {
    if (name == null) {
      signing.forgetAll();
    } else {
      signing.forget(name);
    }
    defaults.forgetAll();
  }

  // ---- revocation ----

  /** Revokes a stored certificate by its decimal serial; revoking twice is fine. The CA's KRL is rebuilt. */
  public SshCertificateRecord revoke(String serial) {
    String s = canonicalSerial(serial);
    long now = clock.instant().getEpochSecond();
    StoredCert result = store().atomically(ops -> {
      StoredEntry e = ops.get(CERTS + s).orElseThrow(() -> KeywardenException.notFound("no stored SSH certificate"
          + " with serial " + s + "; certificates of no_store roles are revoked by key id"));
      StoredCert c = read(e.value(), StoredCert.class);
      return c.revokedAt() != 0 ? c : markRevoked(ops, c, now);
    });
    forgetKrl(result.caName());
    return result.view();
  }

  /**
   * Revokes every certificate of CA {@code caName} with key id {@code keyId}: stored ones are marked revoked, and the
   * key id goes in the CA's KRL (which also covers no_store certificates) until everything the CA has signed so far
   * has expired. Until then the CA signs no new certificate with that key id. Returns the stored ones it marked,
   * found through the index by CA and key id (ssh/certs-by-key-id/), a page at a time: it reads no other certificate.
   */
  public List<SshCertificateRecord> revokeKeyId(String caName, String keyId) {
    StoredCa ca = storedCa(caName);
    String id = SshRoleRules.checkKeyId("key_id: ", keyId == null ? "" : keyId);
    long now = clock.instant().getEpochSecond();
    long until = Math.max(now, ca.keys().stream().mapToLong(StoredCaKey::signedUntil).max().orElse(now));
    indexOnce();
    // The key id first: from here on this server signs no certificate with it (others once the feed tells them), so
    // a certificate stored after the index is read below is refused rather than missed (but for one already being
    // signed), and the KRL covers every certificate with the key id even if it is missed or marking is cut short.
    store().atomically(ops -> {
      String k = SshRecords.revokedId(caName, id);
      Optional<RevokedKeyId> before = ops.get(k).map(e -> read(e.value(), RevokedKeyId.class));
      RevokedKeyId revoked = new RevokedKeyId(caName, id, Math.max(until, before.map(RevokedKeyId::until)
          .orElse(0L)), now);
      ops.put(k, json(revoked));
      // the expiry entry moves with until, in this transaction (tidy mends one a server of an earlier version left)
      before.ifPresent(b -> ops.delete(SshRecords.revokedIdExpiry(b)));
      ops.put(SshRecords.revokedIdExpiry(revoked), NO_VALUE);
      bump(ops, caName);
      return null;
    });
    forgetCa(caName);
    forgetKrl(caName);
    String prefix = SshRecords.byKeyId(caName, id);
    List<SshCertificateRecord> marked = new ArrayList<>();
    String after = "";
    while (true) {
      List<String> page = store().list(prefix, after, INDEX_PAGE);
      List<StoredCert> done = store().atomically(ops -> {
        List<StoredCert> out = new ArrayList<>();
        for (String entry : page) {
          String certKey = CERTS + entry.substring(prefix.length());
          Optional<StoredCert> c = ops.get(certKey).map(e -> read(e.value(), StoredCert.class));
          if (c.isEmpty() || !SshRecords.byKeyId(c.get()).equals(entry)) {
            // left behind by a server from before the index, whose tidy removed the certificate and not its entry
            ops.delete(entry);
          } else if (c.get().caName().equals(caName) && c.get().keyId().equals(id) && c.get().revokedAt() == 0) {
            out.add(markRevoked(ops, c.get(), now));
          }
        }
        return out;
      });
      done.forEach(c -> marked.add(c.view()));
      if (page.size() < INDEX_PAGE) {
        break;
      }
      after = page.get(page.size() - 1);
    }
    forgetKrl(caName);
    return marked;
  }

  /**
   * Puts what a store holds from before the {@link SshRecords#BY_KEY_ID} and expiry indexes into them, once per store
   * ({@link SshRecords#INDEXED} says it is done; see {@link #reindex}).
   */
  private void indexOnce() {
    if (indexed) {
      return;
    }
    if (store().get(SshRecords.INDEXED).isPresent()) {
      indexed = true;
      return;
    }
    int n = reindex();
    indexed = true;
    log.info("SSH key id and expiry indexes built: {} records from before them added", n);
  }

  /**
   * Gives every stored certificate without expiry_indexed its key id and expiry entries, and every revocation and
   * revoked key id without one its expiry entry, a page per transaction; each record is read again in its transaction,
   * so a tidy racing this either removed it first (nothing is indexed for it) or removes the entries with it
   * afterwards. Then sets the markers. Reads every certificate, revocation and revoked key id once; this server and
   * its successors index what they store themselves. Returns how many records it indexed.
   */
  private int reindex() {
    int n = indexPages(CERTS, bytes -> !read(bytes, StoredCert.class).expiryIndexed(), SshEngine::indexCert);
    n += indexPages(REVOKED, bytes -> true, (ops, key) -> ops.get(key)
        .map(e -> SshRecords.certExpiry(read(e.value(), Revocation.class))).map(entry -> putIfAbsent(ops, entry))
        .orElse(false));
    n += indexPages(REVOKED_IDS, bytes -> true, (ops, key) -> ops.get(key)
        .map(e -> SshRecords.revokedIdExpiry(read(e.value(), RevokedKeyId.class)))
        .map(entry -> putIfAbsent(ops, entry)).orElse(false));
    store().atomically(ops -> {
      ops.put(SshRecords.INDEXED, NO_VALUE);
      // servers of the version with only the key id index then skip building it
      ops.put(SshRecords.BY_KEY_ID_INDEXED, NO_VALUE);
      return null;
    });
    return n;
  }

  /**
   * Reads the records under {@code prefix} a page at a time and runs {@code index} on those {@code unindexed} picks,
   * one transaction per page; how many it indexed.
   */
  private int indexPages(String prefix, Predicate<byte[]> unindexed, BiPredicate<StorageOps, String> index) {
    String after = "";
    int n = 0;
    while (true) {
      List<StoredEntry> page = store().entries(prefix, after, INDEX_PAGE);
      List<String> keys = page.stream().filter(e -> unindexed.test(e.value())).map(StoredEntry::key).toList();
      if (!keys.isEmpty()) {
        n += store().atomically(ops -> {
          int done = 0;
          for (String key : keys) {
            done += index.test(ops, key) ? 1 : 0;
          }
          return done;
        });
      }
      if (page.size() < INDEX_PAGE) {
        return n;
      }
      after = page.get(page.size() - 1).key();
    }
  }

  /**
   * Gives the certificate at {@code certKey} its {@link SshRecords#BY_KEY_ID} and {@link SshRecords#CERT_EXPIRY}
   * entries and marks it indexed, unless it is gone or marked already; whether it did. Runs inside the caller's
   * transaction.
   */
  private static boolean indexCert(StorageOps ops, String certKey) {
    Optional<StoredCert> c = ops.get(certKey).map(e -> read(e.value(), StoredCert.class));
    if (c.isEmpty() || c.get().expiryIndexed()) {
      return false;
    }
    ops.put(SshRecords.byKeyId(c.get()), NO_VALUE);
    ops.put(SshRecords.certExpiry(c.get()), NO_VALUE);
    ops.put(certKey, json(c.get().indexed()));
    return true;
  }

  private static boolean putIfAbsent(StorageOps ops, String key) {
    return ops.compareAndSet(key, 0, NO_VALUE);
  }

  private static StoredCert markRevoked(StorageOps ops, StoredCert c, long now) {
    StoredCert marked = c.revoked(now);
    ops.put(CERTS + c.serial(), json(marked));
    ops.put(SshRecords.revoked(c.caName(), c.caKeyId(), c.serial()), json(new Revocation(c.serial(), c.caName(),
        c.caKeyId(), c.validBefore(), now)));
    bump(ops, c.caName());
    return marked;
  }

  // ---- certificates ----

  /**
   * One page of the stored serials, sorted as text: at most {@code limit} after {@code after} ("" for the first
   * page). One range read of storage, however many certificates are stored.
   */
  public List<String> listCertificates(String after, int limit) {
    if (!after.isEmpty() && !DECIMAL.matcher(after).matches()) {
      throw KeywardenException.invalidField("after", "after must be a serial in decimal, as a page lists them");
    }
    return store().list(CERTS, after.isEmpty() ? "" : CERTS + after, limit).stream()
        .map(k -> k.substring(CERTS.length())).toList();
  }

  /** A stored certificate by decimal serial; NOT_FOUND when none. */
  public SshCertificateRecord certificate(String serial) {
    String s = canonicalSerial(serial);
    return store().get(CERTS + s).map(e -> read(e.value(), StoredCert.class).view())
        .orElseThrow(() -> KeywardenException.notFound("no stored SSH certificate with serial " + s
            + " (certificates of no_store roles are never stored)"));
  }

  // ---- tidy ----

  /** What one transaction of {@link #tidy} removed, and the CAs whose KRL it changed. */
  private record Swept(int certificates, int revocations, Set<String> cas) {}

  /** {@link #tidy(Instant, boolean)} without reindexing. */
  public Tidied tidy(Instant now) {
    return tidy(now, false);
  }

  /**
   * Drops certificates, revocations and revoked key ids that expired before {@code now}, and retired CA keys whose
   * signed_until is before {@code now} (destroying their HSM keys); KRLs are rebuilt without them. Reads only the
   * expired range of the expiry indexes (ssh/expiry/), a page of at most {@value #INDEX_PAGE} entries at a time, and
   * removes each page's certificates, with their revocations and index entries, in one transaction, reading each
   * record again in it: never an unexpired certificate. A store from before the indexes is indexed once first.
   * With {@code reindex}, everything is read once and what lacks its entries is indexed: a server of an earlier
   * version stores certificates without them, so run it once after the last such server has stopped.
   */
  public Tidied tidy(Instant now, boolean reindex) {
    long cutoff = now.getEpochSecond();
    if (reindex) {
      int n = reindex();
      indexed = true;
      log.info("SSH tidy --reindex: {} records added to the key id and expiry indexes", n);
    } else {
      indexOnce();
    }
    Set<String> touched = new TreeSet<>();
    Swept certs = sweep(SshRecords.CERT_EXPIRY, cutoff, (ops, due) -> sweepCertificates(ops, due, cutoff));
    touched.addAll(certs.cas());
    Swept ids = sweep(SshRecords.REVOKED_ID_EXPIRY, cutoff, (ops, due) -> sweepRevokedKeyIds(ops, due, cutoff));
    touched.addAll(ids.cas());
    List<String> removed = new ArrayList<>();
    for (String key : store().list(CAS)) {
      String name = key.substring(CAS.length());
      List<StoredCaKey> gone = removeExpiredKeys(name, cutoff);
      if (!gone.isEmpty()) {
        forgetCa(name);
      }
      for (StoredCaKey k : gone) {
        signers.forget(cacheKey(name, k)::equals);
        provenSigners.remove(cacheKey(name, k));
        sshdCaKeys.remove(cacheKey(name, k));
        destroyQuietly(k, null);
        removed.add(name + "/" + k.id());
        touched.add(name);
      }
    }
    for (String name : touched) {
      bumpKrl(name);
    }
    return new Tidied(certs.certificates(), certs.revocations() + ids.revocations(), removed);
  }

  /**
   * Reads the entries of the expiry index under {@code prefix} that are before {@code cutoff}, a page at a time (key
   * order is expiry order, so the first entry not due ends it), and runs {@code work} on each page in one transaction.
   */
  private Swept sweep(String prefix, long cutoff, BiFunction<StorageOps, List<String>, Swept> work) {
    int certificates = 0;
    int revocations = 0;
    Set<String> cas = new TreeSet<>();
    String after = "";
    while (true) {
      List<String> page = store().list(prefix, after, INDEX_PAGE);
      List<String> due = page.stream().takeWhile(k -> SshRecords.expiryTime(prefix, k) < cutoff).toList();
      if (due.isEmpty()) {
        break;
      }
      Swept s = store().atomically(ops -> work.apply(ops, due));
      certificates += s.certificates();
      revocations += s.revocations();
      cas.addAll(s.cas());
      if (due.size() < page.size() || page.size() < INDEX_PAGE) {
        break;
      }
      after = due.get(due.size() - 1);
    }
    return new Swept(certificates, revocations, cas);
  }

  /**
   * Removes the certificates that {@link SshRecords#CERT_EXPIRY} entries {@code due} name, if they expired before
   * {@code cutoff}, with their key id entries and revocations, and the entries. A certificate already gone (another
   * server tidied it, or one from before the index left the entry) only loses its entry, and its revocation if that
   * was left behind.
   */
  private static Swept sweepCertificates(StorageOps ops, List<String> due, long cutoff) {
    int certificates = 0;
    int revocations = 0;
    Set<String> cas = new TreeSet<>();
    for (String entry : due) {
      ops.delete(entry);
      String[] names = SshRecords.expiryNames(SshRecords.CERT_EXPIRY, entry); // CA, CA key id, serial
      String certKey = CERTS + names[2];
      Optional<StoredCert> c = ops.get(certKey).map(e -> read(e.value(), StoredCert.class));
      if (c.isPresent() && c.get().validBefore() < cutoff) {
        ops.delete(certKey);
        ops.delete(SshRecords.byKeyId(c.get()));
        ops.delete(SshRecords.certExpiry(c.get()));
        certificates++;
        if (ops.delete(SshRecords.revoked(c.get().caName(), c.get().caKeyId(), c.get().serial()))) {
          revocations++;
          cas.add(c.get().caName());
        }
      } else if (c.isPresent()) {
        // the serial was stored again after this entry's certificate was tidied by a server from before the index
        ops.put(SshRecords.certExpiry(c.get()), NO_VALUE);
      }
      if (c.isEmpty() || !c.get().caName().equals(names[0]) || !c.get().caKeyId().equals(names[1])) {
        String revokedKey = SshRecords.revoked(names[0], names[1], names[2]);
        Optional<Revocation> r = ops.get(revokedKey).map(e -> read(e.value(), Revocation.class));
        if (r.isPresent() && r.get().validBefore() < cutoff) {
          ops.delete(revokedKey);
          revocations++;
          cas.add(names[0]);
        } else if (r.isPresent()) {
          ops.put(SshRecords.certExpiry(r.get()), NO_VALUE);
        }
      }
    }
    return new Swept(certificates, revocations, cas);
  }

  /**
   * Removes the revoked key ids that {@link SshRecords#REVOKED_ID_EXPIRY} entries {@code due} name, if their until is
   * before {@code cutoff}, and the entries; one whose until was raised by a server from before the index (which left
   * the entry where it was) gets the entry of its until instead.
   */
  private static Swept sweepRevokedKeyIds(StorageOps ops, List<String> due, long cutoff) {
    int revocations = 0;
    Set<String> cas = new TreeSet<>();
    for (String entry : due) {
      ops.delete(entry);
      String[] names = SshRecords.expiryNames(SshRecords.REVOKED_ID_EXPIRY, entry); // CA, key id in hex
      String key = REVOKED_IDS + names[0] + "/" + names[1];
      Optional<RevokedKeyId> r = ops.get(key).map(e -> read(e.value(), RevokedKeyId.class));
      if (r.isPresent() && r.get().until() < cutoff) {
        ops.delete(key);
        ops.delete(SshRecords.revokedIdExpiry(r.get()));
        revocations++;
        cas.add(names[0]);
      } else if (r.isPresent()) {
        ops.put(SshRecords.revokedIdExpiry(r.get()), NO_VALUE);
      }
    }
    return new Swept(0, revocations, cas);
  }

  private List<StoredCaKey> removeExpiredKeys(String name, long cutoff) {
    return CasRetry.untilStored("SSH CA '" + name + "'", () -> {
      Optional<StoredEntry> e = store().get(CAS + name);
      if (e.isEmpty()) {
        return Optional.of(List.<StoredCaKey>of());
      }
      StoredCa ca = read(e.get().value(), StoredCa.class);
      List<StoredCaKey> keep = new ArrayList<>();
      List<StoredCaKey> gone = new ArrayList<>();
      for (StoredCaKey k : ca.keys()) {
        (k.retiredAt() != 0 && k.signedUntil() < cutoff ? gone : keep).add(k);
      }
      if (gone.isEmpty()) {
        return Optional.of(List.<StoredCaKey>of());
      }
      return store().compareAndSet(CAS + name, e.get().version(), json(ca.withKeys(keep)))
          ? Optional.of(gone) : Optional.empty();
    });
  }

  // ---- serials ----

  /**
   * The canonical form of a serial: decimal, unsigned 64-bit, no leading zeros, never 0 (as stored, and as named in
   * policy resources {@code ssh/certs/SERIAL}); INVALID_ARGUMENT otherwise.
   */
  public static String canonicalSerial(String s) {
    if (s == null || !DECIMAL.matcher(s).matches()) {
      throw KeywardenException.invalid("serial: '" + Inputs.quoted(String.valueOf(s))
          + "' is not a decimal certificate serial (ssh-keygen -L shows it as Serial)");
    }
    long v;
    try {
      v = Long.parseUnsignedLong(s);
    } catch (NumberFormatException e) {
      throw KeywardenException.invalid("serial: '" + Inputs.quoted(s) + "' is above 2^64-1");
    }
    if (v == 0) {
      throw KeywardenException.invalid("serial: 0 is never issued");
    }
    return Long.toUnsignedString(v);
  }

  // ---- helpers ----

  static String checkCaName(String where, String name) {
    if (name == null || !CA_NAME.matcher(name).matches()) {
      throw KeywardenException.invalid(where + "an SSH CA name is 1 to 64 letters, digits, '_' or '-', starting with"
          + " a letter or digit; got '" + Inputs.quoted(name) + "'");
    }
    return name;
  }

  private static KeyType caKeyType(KeyType keyType) {
    KeyType t = keyType == null ? KeyType.ED25519 : keyType;
    if (t == KeyType.RSA_2048) {
      throw KeywardenException.invalid("key_type: an SSH CA key is ed25519, ec-p256, ec-p384, rsa-3072 or rsa-4096;"
          + " rsa-2048 is too weak for a CA");
    }
    return t;
  }

  private StoredCaKey newKey(String caName, KeyType type) {
    byte[] b = new byte[8];
    random.nextBytes(b);
    String id = HexFormat.of().formatHex(b);
    Hsm hsm = core.unsealed().hsm();
    HsmKeyId key = hsm.generateKeyPair("ssh-ca-" + caName + "-" + id, type.algorithm());
    try {
      PublicKey pub = hsm.signer(key).publicKey();
      return new StoredCaKey(id, key.label(), key.idHex(), type, SshPublicKeys.line(pub, null),
          clock.instant().getEpochSecond(), 0, 0);
    } catch (RuntimeException e) {
      try {
        hsm.destroyKey(key);
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private void destroyQuietly(StoredCaKey k, RuntimeException cause) {
    try {
      core.unsealed().hsm().destroyKey(k.hsmKeyId());
    } catch (RuntimeException e) {
      if (cause != null) {
        cause.addSuppressed(e);
      }
      log.warn("SSH CA key '{}' (id {}) was not destroyed: {}", k.hsmLabel(), k.hsmId(), e.getMessage());
    }
  }

  private HsmSigner signer(String caName, StoredCaKey k, HsmKeyId id) {
    return signers.signer(cacheKey(caName, k), id, e -> new KeywardenException(
        KeywardenException.Kind.FAILED_PRECONDITION, "SSH CA '" + caName + "': its key '" + k.hsmLabel()
            + "' is no longer in the HSM; restore the token or rotate the CA", e));
  }

  private static String cacheKey(String caName, StoredCaKey k) {
    return caName + "/" + k.id();
  }

  private static PublicKey caPublicKey(StoredCaKey k) {
    return SshPublicKeys.parse("CA key", k.publicKey()).key();
  }

  private List<StoredCaKey> published(StoredCa ca) {
    long now = clock.instant().getEpochSecond();
    return ca.keys().stream().filter(k -> k.publishedAt(now)).toList();
  }

  private SshCaInfo info(StoredCa ca) {
    Set<CertType> defaults = EnumSet.noneOf(CertType.class);
    for (CertType t : CertType.values()) {
      if (store().get(SshRecords.defaultCa(t)).map(e -> new String(e.value(), UTF_8)).filter(ca.name()::equals)
          .isPresent()) {
        defaults.add(t);
      }
    }
    List<SshCaKey> keys = new ArrayList<>();
    for (StoredCaKey k : published(ca)) {
      keys.add(new SshCaKey(k.id(), k.keyType(), k.publicKey(), SshPublicKeys.fingerprint(caPublicKey(k)),
          Instant.ofEpochSecond(k.created()), k.retiredAt() == 0 ? null : Instant.ofEpochSecond(k.retiredAt()),
          k.signedUntil() == 0 ? null : Instant.ofEpochSecond(k.signedUntil())));
    }
    return new SshCaInfo(ca.name(), keys, defaults);
  }

  private StoredCa storedCa(String name) {
    checkCaName("ca: ", name);
    return store().get(CAS + name).map(e -> read(e.value(), StoredCa.class)).orElseThrow(() -> caNotFound(name));
  }

  private static KeywardenException caNotFound(String name) {
    return KeywardenException.notFound("SSH CA '" + Inputs.quoted(name) + "' not found; list the CAs or create it");
  }

  private static SshIdentity identity(SshIdentity caller) {
    return caller == null ? new SshIdentity("", Map.of()) : caller;
  }

  private void bumpKrl(String name) {
    store().atomically(ops -> {
      bump(ops, name);
      return null;
    });
    forgetKrl(name);
  }

  private static void bump(StorageOps ops, String caName) {
    long v = ops.get(KRL + caName).map(e -> read(e.value(), KrlVersion.class).version()).orElse(0L);
    ops.put(KRL + caName, json(new KrlVersion(v + 1)));
  }

  private void forgetKrl(String name) {
    krls.remove(name);
  }

  /** The storage, once the core is unsealed. */
  private Storage store() {
    core.unsealed();
    return core.storage();
  }
}
