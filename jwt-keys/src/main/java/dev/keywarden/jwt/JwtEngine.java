package dev.keywarden.jwt;

import static dev.keywarden.jwt.JwtRecords.KEYS;
import static dev.keywarden.jwt.JwtRecords.ROLES;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.keywarden.failure.Inputs;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmSigner;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.jwt.JwtRecords.StoredKey;
import dev.keywarden.jwt.JwtRecords.StoredVersion;
import dev.keywarden.storage.CacheFeed;
import dev.keywarden.storage.CasRetry;
import dev.keywarden.storage.ReadThroughCache;
import dev.keywarden.storage.Storage;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.storage.StoredJson;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.SignerCache;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JWT signing keys engine over {@link Core}: named keys whose versions are HSM key pairs (or software keys wrapped
 * by the KEK), published in a JWKS {@code publish_ahead} before they sign; roles that bound what a caller may put in a
 * token; batch signing, verification, rotation (on demand, scheduled, emergency), revocation, and the lifecycle
 * {@link #tick} and {@link #tidy} the server schedules on {@code PeriodicTasks}.
 *
 * <p>Every state follows from stored times ({@link Timeline}), evaluated at each read: a missed tick never lets a
 * pending version sign nor keeps a due one from signing. Key records and roles are cached after their first read and
 * dropped on every change made through this engine and on seal, so signing reads no storage; the one write on the
 * signing path raises a version's {@code signed_until} when a token outlives it, rounded up to
 * {@value #SIGNED_UNTIL_STEP} s (or the key's max_token_ttl when shorter, so a version with short-lived tokens does not
 * stay published minutes longer than they live), so steady traffic writes once per that step.
 */
public final class JwtEngine {
  /** The most tokens per signing call. */
  public static final int MAX_BATCH = 10_000;
  /** signed_until is raised in steps of this many seconds, or of the key's max_token_ttl when that is shorter. */
  static final long SIGNED_UNTIL_STEP = 300;
  /** Destroyed versions kept in a key's record (for its history); older ones are dropped by tidy. */
  static final int DESTROYED_KEPT = 32;

  private static final Logger log = LoggerFactory.getLogger(JwtEngine.class);

  private final Core core;
  private final Clock clock;
  private final SecureRandom random;
  private final SignerCache signers;
  private final SoftwareKeys softwareKeys;
  /** Forgets key records changed by other servers; this engine's own writes (inside keyFeed.writing) update it. */
  private final CacheFeed keyFeed;
  /** Keys as last read, with their parsed JWKs; changed only through this engine. */
  private final Map<String, Loaded> keys = new ConcurrentHashMap<>();
  /** Bumped on every key change; a read that raced with a change does not cache what it read. */
  private long keyChanges;
  /** Roles as last read (storage prefix jwt/roles/). */
  private final ReadThroughCache<String, JwtRole> roles = new ReadThroughCache<>();

  /** An engine over {@code core}; it drops its cached keys, roles and signers when the core seals. */
  public JwtEngine(Core core, Clock clock, SecureRandom random) {
    this.core = core;
    this.clock = clock;
    this.random = random;
    this.signers = new SignerCache(core);
    this.softwareKeys = new SoftwareKeys(core);
    core.addSealListener(this::forgetAllKeys);
    core.addSealListener(roles::forgetAll);
    roles.watching(core.storage(), JwtRecords.ROLES, name -> name); // changes made by other servers sharing the store
    // a key rotated, revoked or retired by another server sharing the store is read again here on its next use
    this.keyFeed = CacheFeed.watch(core.storage(), JwtRecords.KEYS, this::forgetKey, this::forgetAllKeys);
  }

  /** A key record as read, with the JWKs and verifiers of its versions parsed on first use. */
  private static final class Loaded {
    final StoredKey key;
    final Map<Integer, JWK> jwks = new ConcurrentHashMap<>();
    final Map<Integer, JWSVerifier> verifiers = new ConcurrentHashMap<>();
    final AtomicReference<Map.Entry<List<Integer>, PublishedJwks>> published = new AtomicReference<>();

    Loaded(StoredKey key) {
      this.key = key;
    }

    StoredKey key() {
      return key;
    }

    JWK jwk(StoredVersion v) {
      return jwks.computeIfAbsent(v.version(), n -> PublicJwks.parse(v.publicJwk()));
    }

    JWSVerifier verifier(StoredVersion v) {
      return verifiers.computeIfAbsent(v.version(), n -> PublicJwks.verifier(jwk(v)));
    }
  }

  // ---- keys ----

  /** Creates a key with its first version, pending for publish_ahead; ALREADY_EXISTS when the name is taken. */
  public JwtKeyInfo createKey(JwtKeySettings settings) {
    if (settings == null) {
      throw KeywardenException.invalid("key settings are missing");
    }
    if (store().get(KEYS + settings.name()).isPresent()) {
      throw exists(settings.name());
    }
    long now = now();
    StoredKey empty = StoredKey.of(settings, now);
    StoredVersion first = newVersion(empty, now, now + settings.publishAhead().getSeconds());
    StoredKey created = empty.withNewVersion(first);
    boolean stored;
    try {
      stored = keyFeed.writing(() -> store().compareAndSet(KEYS + settings.name(), 0, JwtRecords.write(created)));
    } catch (RuntimeException e) {
      destroyQuietly(settings.name(), first);
      throw e;
    }
    if (!stored) {
      destroyQuietly(settings.name(), first);
      throw exists(settings.name());
    }
    forgetKey(settings.name());
    return info(created, now);
  }

  /** Changes a key's settings; see {@link JwtKeyUpdate} for what may change. Roles above the new max_token_ttl are cut when signing. */
  public JwtKeyInfo updateKey(String name, JwtKeyUpdate update) {
    checkKeyName(name);
    if (update == null) {
      throw KeywardenException.invalid("update is missing");
    }
    StoredKey after = change(name, cur -> cur.withSettings(update.applyTo(cur.settings())));
    return info(after, now());
  }

  /** A key with its versions and their states now; NOT_FOUND when there is none. */
  public JwtKeyInfo key(String name) {
    checkKeyName(name);
    return info(read(name).key(), now());
  }

  /** Key names, sorted. */
  public List<String> listKeys() {
    return store().list(KEYS).stream().map(k -> k.substring(KEYS.length())).toList();
  }

  /**
   * One page of the key names, sorted: at most {@code limit} after {@code after} (exclusive; "" for the first
   * page). One range read of storage, however many there are.
   */
  public List<String> listKeys(String after, int limit) {
    return store().list(KEYS, after.isEmpty() ? "" : KEYS + after, limit).stream()
        .map(k -> k.substring(KEYS.length())).toList();
  }

  /**
   * Deletes a key: its record first (nothing signs or verifies with it from then on), then every version's private
   * key. Tokens it signed no longer verify anywhere once verifiers drop their JWKS. Its roles stay, refusing to sign.
   */
  public DeletedJwtKey deleteKey(String name) {
    checkKeyName(name);
    StoredKey gone = keyFeed.writing(() -> store().atomically(ops -> {
      StoredKey k = ops.get(KEYS + name).map(JwtRecords::readKey).orElseThrow(() -> notFound(name));
      ops.delete(KEYS + name);
      return k;
    }));
    forgetKey(name);
    List<String> destroyed = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (StoredVersion v : gone.versions()) {
      if (v.destroyedAt() != 0) {
        continue;
      }
      Optional<String> problem = destroyMaterial(name, v);
      problem.ifPresentOrElse(problems::add, () -> destroyed.add(v.kid()));
    }
    return new DeletedJwtKey(name, destroyed, problems);
  }

  // ---- rotation and revocation ----

  /**
   * Rotates a key. Normally ({@code now} false) a new version is made pending and signs once publish_ahead has passed;
   * a pending version already there is kept instead. With {@code now} (an emergency) the pending version, or a new
   * one, signs at once, and the result warns that verifiers holding an older JWKS may reject its tokens for a while.
   */
  public RotationResult rotate(String name, boolean now) {
    checkKeyName(name);
    long at = now();
    StoredKey k = read(name).key();
    Optional<StoredVersion> pending = pending(k, at);
    if (pending.isPresent()) {
      return now ? promote(name, pending.get().version(), at) : result(k, pending.get(), false, Optional.empty());
    }
    long publishAhead = k.publishAhead();
    Optional<StoredVersion> made = addVersion(name, at, cur -> now ? at : at + cur.publishAhead(),
        cur -> pending(cur, at).isEmpty());
    if (made.isEmpty()) {
      return rotate(name, now); // a concurrent rotation made a pending version: use that one
    }
    StoredKey after = read(name).key();
    return result(after, made.get(), true, now && publishAhead > 0
        ? Optional.of(emergencyWarning(after, made.get())) : Optional.empty());
  }

  private RotationResult promote(String name, int version, long at) {
    StoredKey after = change(name, cur -> {
      StoredVersion v = cur.version(version).orElseThrow(() -> KeywardenException.precondition(
          "version " + version + " of JWT key '" + name + "' is gone; rotate again"));
      if (new Timeline(cur, at).state(v) != JwtVersionState.PENDING) {
        return cur; // promoted or revoked meanwhile
      }
      return cur.withVersion(version, x -> x.withActivateAt(at));
    });
    StoredVersion v = after.version(version).orElseThrow();
    boolean unseen = at < v.createdAt() + maxAge(after).getSeconds();
    return result(after, v, false, unseen ? Optional.of(emergencyWarning(after, v)) : Optional.empty());
  }

  private String emergencyWarning(StoredKey k, StoredVersion v) {
    return "version " + v.version() + " (kid " + v.kid() + ") signs at once: verifiers that fetched the JWKS before "
        + Instant.ofEpochSecond(v.createdAt()) + " do not know it and may reject its tokens until they fetch the JWKS"
        + " again (it may be cached for up to " + maxAge(k).getSeconds() + "s)";
  }

  /**
   * Revokes a compromised version: out of the JWKS at once, never signs again, and tidy destroys it. When it was the
   * active version, an emergency rotation makes a replacement active at once (the pending version if there is one).
   */
  public RevocationResult revokeVersion(String name, String kid) {
    checkKeyName(name);
    if (kid == null || kid.isEmpty()) {
      throw KeywardenException.invalid("kid is missing");
    }
    long at = now();
    StoredKey k = read(name).key();
    StoredVersion target = k.byKid(kid).orElseThrow(() -> KeywardenException.notFound("JWT key '" + name
        + "' has no version with kid '" + Inputs.quoted(kid) + "'; its versions are listed by reading the key"));
    boolean wasActive = new Timeline(k, at).signing().map(v -> v.version() == target.version()).orElse(false);
    StoredKey after = change(name, cur -> {
      StoredVersion v = cur.version(target.version()).orElseThrow(() -> notFound(name));
      return v.revokedAt() != 0 || v.destroyedAt() != 0 ? cur : cur.withVersion(v.version(), x -> x.revoked(at));
    });
    StoredVersion revoked = after.version(target.version()).orElseThrow();
    forgetSigners(name, revoked);
    Optional<RotationResult> replacement = Optional.empty();
    if (wasActive) {
      try {
        replacement = Optional.of(rotate(name, true));
      } catch (KeywardenException e) {
        log.warn("JWT key '{}': version {} revoked, but no replacement could be made: {}", name,
            revoked.version(), e.getMessage());
      }
    }
    long revokedAt = revoked.revokedAt() != 0 ? revoked.revokedAt() : at;
    return new RevocationResult(name, revoked.version(), revoked.kid(), Instant.ofEpochSecond(revokedAt), wasActive,
        replacement);
  }

  // ---- roles ----

  /** Creates or replaces a role; its key must exist and its max_ttl may not exceed the key's max_token_ttl. */
  public void writeRole(JwtRole role) {
    if (role == null) {
      throw KeywardenException.invalid("role is missing");
    }
    StoredKey k = store().get(KEYS + role.key()).map(JwtRecords::readKey)
        .orElseThrow(() -> KeywardenException.notFound("role '" + role.name() + "': JWT key '" + role.key()
            + "' not found; create the key first"));
    if (role.maxTtl().getSeconds() > k.maxTokenTtl()) {
      throw KeywardenException.invalid("role '" + role.name() + "': max_ttl " + role.maxTtl().getSeconds()
          + "s exceeds key '" + k.name() + "''s max_token_ttl " + k.maxTokenTtl() + "s");
    }
    store().put(ROLES + role.name(), StoredJson.write(role));
    roles.forget(role.name());
  }

  /** One role; NOT_FOUND when there is none by that name. */
  public JwtRole role(String name) {
    Inputs.name("a JWT role name", name);
    Storage storage = store();
    return roles.get(name, n -> storage.get(ROLES + n).map(e -> StoredJson.read(e.value(), JwtRole.class))
        .orElseThrow(() -> KeywardenException.notFound("JWT role '" + n + "' not found; write it first or list"
            + " the roles")));
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

  /** Deletes a role; NOT_FOUND when there is none. Tokens it signed stay valid until they expire. */
  public void deleteRole(String name) {
    role(name);
    store().delete(ROLES + name);
    roles.forget(name);
  }

  // ---- signing ----

  /**
   * Signs one token per claims map with the key's active version under {@code roleName}, for {@code caller}. Each
   * token gets iss (the key's issuer), iat (now), exp (iat + ttl; default the role's max_ttl cut to the key's
   * max_token_ttl), a random jti, and a header with alg, kid and typ JWT; sub, aud, nbf and custom claims as the role
   * allows. An item whose claims break the role is refused in its result (INVALID_ARGUMENT naming the claim and rule);
   * a bad key, role, ttl or batch, or no active version (FAILED_PRECONDITION), fails the whole call.
   */
  public List<SignResult> sign(String keyName, String roleName, JwtIdentity caller, List<Map<String, Object>> claims,
      Optional<Duration> ttl) {
    checkKeyName(keyName);
    JwtRole role = role(roleName);
    if (!role.key().equals(keyName)) {
      throw KeywardenException.invalid("role '" + role.name() + "' signs with JWT key '" + role.key() + "', not '"
          + keyName + "'");
    }
    if (caller == null) {
      throw KeywardenException.invalid("the caller's identity is missing");
    }
    if (claims == null || claims.isEmpty() || claims.size() > MAX_BATCH) {
      throw KeywardenException.invalid("give 1 to " + MAX_BATCH + " claims sets to sign, got "
          + (claims == null ? 0 : claims.size()));
    }
    for (int attempt = 0; ; attempt++) {
      Loaded loaded = read(keyName);
      Optional<List<SignResult>> signed = signBatch(loaded, role, caller, claims, ttl == null ? Optional.empty() : ttl);
      if (signed.isPresent()) {
        return signed.get();
      }
      forgetKey(keyName); // the version was retired or revoked while signing: sign again with the current one
      if (attempt == 1) {
        throw KeywardenException.unavailable("JWT key '" + keyName + "' changed versions while signing; try again",
            null);
      }
    }
  }

  /** The signed batch, or empty when the version was retired or revoked before its use could be recorded. */
  private Optional<List<SignResult>> signBatch(Loaded loaded, JwtRole role, JwtIdentity caller,
      List<Map<String, Object>> claims, Optional<Duration> ttl) {
    StoredKey k = loaded.key;
    Instant instant = clock.instant();
    long now = instant.getEpochSecond();
    StoredVersion v = signingVersion(k, now);
    long lifetime = lifetime(k, role, ttl);
    JWSHeader header = new JWSHeader.Builder(k.algorithm().jws()).keyID(v.kid()).type(JOSEObjectType.JWT).build();
    HsmJwsSigner signer = jwsSigner(k, v);
    ClaimRules.ServerClaims server = null;
    List<SignResult> out = new ArrayList<>(claims.size());
    long latestExp = 0;
    for (Map<String, Object> asked : claims) {
      server = new ClaimRules.ServerClaims(k.issuer(), now, now + lifetime, jwtId());
      JWTClaimsSet set;
      try {
        set = ClaimRules.claims(role, caller, asked, server);
      } catch (KeywardenException refused) {
        out.add(SignResult.refused(refused));
        continue;
      }
      SignedJWT jwt = new SignedJWT(header, set);
      try {
        jwt.sign(signer);
      } catch (JOSEException e) {
        throw new IllegalStateException("a JWT did not sign with " + k.algorithm().jwsName(), e);
      }
      String token = jwt.serialize();
      if (token.length() > UntrustedToken.MAX_CHARS) {
        out.add(SignResult.refused(KeywardenException.invalid("the token would be " + token.length()
            + " characters; the limit is " + UntrustedToken.MAX_CHARS + ": set fewer or shorter claims")));
        continue;
      }
      out.add(SignResult.signed(token));
      latestExp = server.expiresAt();
    }
    if (latestExp != 0 && !recordSigned(k.name(), v, latestExp, Math.min(SIGNED_UNTIL_STEP, k.maxTokenTtl()))) {
      return Optional.empty();
    }
    return Optional.of(out);
  }

  private long lifetime(StoredKey k, JwtRole role, Optional<Duration> ttl) {
    long most = Math.min(role.maxTtl().getSeconds(), k.maxTokenTtl());
    if (ttl.isEmpty()) {
      return most;
    }
    Duration d = ttl.get();
    if (d.getNano() != 0 || d.getSeconds() < 1) {
      throw KeywardenException.invalid("ttl: whole seconds, at least 1s");
    }
    if (d.getSeconds() > most) {
      throw KeywardenException.invalid("ttl: " + d.getSeconds() + "s exceeds " + (role.maxTtl().getSeconds() <= k
          .maxTokenTtl() ? "role '" + role.name() + "''s max_ttl " : "key '" + k.name() + "''s max_token_ttl ")
          + most + "s");
    }
    return d.getSeconds();
  }

  private StoredVersion signingVersion(StoredKey k, long now) {
    Timeline t = new Timeline(k, now);
    Optional<StoredVersion> signing = t.signing();
    if (signing.isPresent()) {
      return signing.get();
    }
    Optional<StoredVersion> current = t.current();
    if (current.isPresent()) {
      throw KeywardenException.precondition("JWT key '" + k.name() + "': its active version " + current.get()
          .version() + " was revoked and nothing replaced it; rotate the key (rotate now for an emergency)");
    }
    Optional<StoredVersion> next = pending(k, now);
    throw KeywardenException.precondition("JWT key '" + k.name() + "' has no active version yet" + next
        .map(p -> ": version " + p.version() + " is published and signs from " + Instant.ofEpochSecond(
            p.activateAt()) + " (publish_ahead), or rotate now to promote it at once").orElse("; rotate it"));
  }

  private HsmJwsSigner jwsSigner(StoredKey k, StoredVersion v) {
    String cacheKey = k.name() + "/" + v.kid();
    if (v.software()) {
      KeyType type = k.algorithm().keyType(k.rsaBits());
      byte[] wrapped = v.wrappedKey();
      return new HsmJwsSigner(k.algorithm(), (alg, message) -> softwareKeys.sign(cacheKey, type.algorithm(), wrapped,
          alg, message));
    }
    HsmSigner hsm = signers.signer(cacheKey, v.hsmKey(), e -> keyGone(k.name(), v, e));
    return new HsmJwsSigner(k.algorithm(), hsm::sign);
  }

  private static KeywardenException keyGone(String name, StoredVersion v, KeywardenException e) {
    return new KeywardenException(Kind.FAILED_PRECONDITION, "JWT key '" + name + "' version " + v.version()
        + ": its HSM key '" + v.hsmLabel() + "' is no longer in the HSM; restore the token, or revoke the version"
        + " (kid " + v.kid() + ") to rotate at once", e);
  }

  /**
   * Records that version {@code v} signed a token valid until {@code exp}, before the token is handed out, so it stays
   * in the JWKS that long. False when the version was retired or revoked meanwhile: its tokens must not be handed out.
   */
  private boolean recordSigned(String name, StoredVersion v, long exp, long step) {
    long needed = Math.floorDiv(exp + step - 1, step) * step;
    if (needed <= v.signedUntil()) {
      return true;
    }
    boolean recorded = CasRetry.untilStored("JWT key '" + name + "'", () -> {
      long changes;
      synchronized (keys) {
        changes = keyChanges;
      }
      Optional<StoredEntry> e = store().get(KEYS + name);
      if (e.isEmpty()) {
        return Optional.of(false);
      }
      StoredKey cur = JwtRecords.readKey(e.get());
      Optional<StoredVersion> x = cur.version(v.version());
      if (x.isEmpty() || x.get().retiredAt() != 0 || x.get().revokedAt() != 0 || x.get().destroyedAt() != 0) {
        return Optional.of(false);
      }
      if (x.get().signedUntil() >= needed) {
        cacheIfUnchanged(name, cur, changes);
        return Optional.of(true);
      }
      StoredKey next = cur.withVersion(v.version(), y -> y.withSignedUntil(needed));
      if (!keyFeed.writing(() -> store().compareAndSet(KEYS + name, e.get().version(), JwtRecords.write(next)))) {
        return Optional.empty();
      }
      cacheIfUnchanged(name, next, changes);
      return Optional.of(true);
    });
    if (!recorded) {
      forgetKey(name);
    }
    return recorded;
  }

  /**
   * Caches the record just read or written unless another change went through this engine since {@code changes} was
   * taken (that change's own forget may not have happened yet, so then nothing is cached and the next call reads).
   */
  private void cacheIfUnchanged(String name, StoredKey k, long changes) {
    synchronized (keys) {
      if (changes == keyChanges) {
        keys.put(name, new Loaded(k));
      }
    }
  }

  private String jwtId() {
    byte[] b = new byte[16];
    random.nextBytes(b);
    return Base64URL.encode(b).toString();
  }

  // ---- verification ----

  /**
   * Verifies a token against the key: alg, kid of a published version, signature, then iss, exp (required) and nbf
   * and iat within the skew, and, when given, that aud contains {@code audience}. INVALID_ARGUMENT for text that is
   * not a compact JWS; UNAUTHENTICATED naming the failed check otherwise.
   */
  public VerifiedJwt verify(String keyName, String token, Optional<String> audience) {
    checkKeyName(keyName);
    Loaded loaded = read(keyName);
    UntrustedToken parsed = UntrustedToken.parse(token);
    StoredKey k = loaded.key;
    JWSHeader header = parsed.jwt().getHeader();
    if (!k.algorithm().jws().equals(header.getAlgorithm())) {
      throw refused("it is signed with " + Inputs.quoted(String.valueOf(header.getAlgorithm())) + "; key '"
          + k.name() + "' signs " + k.algorithm().jwsName());
    }
    String kid = header.getKeyID();
    if (kid == null) {
      throw refused("it has no kid; every token key '" + k.name() + "' signs names its version");
    }
    long now = clock.instant().getEpochSecond();
    Timeline t = new Timeline(k, now);
    StoredVersion v = k.byKid(kid).orElseThrow(() -> refused("no version of key '" + k.name() + "' has kid '"
        + Inputs.quoted(kid) + "'"));
    JwtVersionState state = t.state(v);
    if (!state.published()) {
      throw refused("version " + v.version() + " (kid " + kid + ") is " + state.stateName()
          + (v.revokedAt() != 0 ? " (revoked)" : "") + " and no longer verifies tokens");
    }
    boolean valid;
    try {
      valid = parsed.jwt().verify(loaded.verifier(v));
    } catch (JOSEException | RuntimeException e) {
      valid = false;
    }
    if (!valid) {
      throw refused("its signature does not verify with version " + v.version() + " (kid " + kid + ")");
    }
    return checkClaims(k, v, parsed.claims(), now, audience == null ? Optional.empty() : audience);
  }

  private static VerifiedJwt checkClaims(StoredKey k, StoredVersion v, JWTClaimsSet claims, long now,
      Optional<String> audience) {
    if (!k.issuer().equals(claims.getIssuer())) {
      throw refused("its issuer '" + Inputs.quoted(String.valueOf(claims.getIssuer())) + "' is not key '" + k.name()
          + "''s '" + k.issuer() + "'");
    }
    Date exp;
    Date nbf;
    Date iat;
    try {
      exp = claims.getExpirationTime();
      nbf = claims.getNotBeforeTime();
      iat = claims.getIssueTime();
    } catch (RuntimeException e) {
      throw KeywardenException.invalid("the token's exp, nbf or iat is not a number of seconds");
    }
    long skew = k.skew();
    if (exp == null) {
      throw refused("it has no exp");
    }
    long expS = Math.floorDiv(exp.getTime(), 1000);
    if (now > expS + skew) {
      throw refused("it expired at " + Instant.ofEpochSecond(expS) + " (clock skew " + skew + "s)");
    }
    if (nbf != null && now + skew < Math.floorDiv(nbf.getTime(), 1000)) {
      throw refused("it is not valid before " + nbf.toInstant() + " (clock skew " + skew + "s)");
    }
    if (iat != null && now + skew < Math.floorDiv(iat.getTime(), 1000)) {
      throw refused("it was issued in the future, at " + iat.toInstant() + " (clock skew " + skew + "s)");
    }
    List<String> aud = claims.getAudience();
    if (audience.isPresent() && !aud.contains(audience.get())) {
      throw refused("its audience " + aud.stream().limit(8).map(a -> "'" + Inputs.quoted(a) + "'").toList()
          + " does not contain '" + Inputs.quoted(audience.get()) + "'");
    }
    return new VerifiedJwt(v.kid(), v.version(), Optional.ofNullable(claims.getSubject()), aud,
        iat == null ? Instant.ofEpochSecond(expS) : iat.toInstant(), Instant.ofEpochSecond(expS),
        claims.toJSONObject());
  }

  private static KeywardenException refused(String why) {
    return new KeywardenException(Kind.UNAUTHENTICATED, "token refused: " + why);
  }

  // ---- publishing ----

  /**
   * The key's JWK Set (pending, active and verify-only versions, newest first), its ETag and how long it may be
   * cached (publish_ahead less the skew, never negative).
   */
  public PublishedJwks jwks(String keyName) {
    checkKeyName(keyName);
    Loaded loaded = read(keyName);
    StoredKey k = loaded.key;
    Timeline t = new Timeline(k, now());
    List<StoredVersion> published = k.versions().stream().filter(v -> t.state(v).published())
        .sorted(Comparator.comparingInt(StoredVersion::version).reversed()).toList();
    List<Integer> numbers = published.stream().map(StoredVersion::version).toList();
    Map.Entry<List<Integer>, PublishedJwks> cached = loaded.published.get();
    if (cached != null && cached.getKey().equals(numbers)) {
      return cached.getValue();
    }
    List<Object> jwks = new ArrayList<>();
    for (StoredVersion v : published) {
      jwks.add(loaded.jwk(v).toPublicJWK().toJSONObject());
    }
    Map<String, Object> set = new LinkedHashMap<>();
    set.put("keys", jwks);
    String json = JSONObjectUtils.toJSONString(set);
    PublishedJwks out = new PublishedJwks(json, etag(json), maxAge(k));
    loaded.published.set(Map.entry(numbers, out));
    return out;
  }

  /**
   * The key's OpenID Connect discovery document (served at {@code ISSUER/.well-known/openid-configuration}): issuer,
   * jwks_uri ({@code ISSUER/.well-known/jwks.json}), the signing algorithm, and the response and subject types an
   * id_token-only issuer states (as Kubernetes' service-account issuer does; there is no authorization endpoint).
   */
  public String openIdConfiguration(String keyName) {
    checkKeyName(keyName);
    StoredKey k = read(keyName).key;
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("issuer", k.issuer());
    doc.put("jwks_uri", k.settings().jwksUri());
    doc.put("response_types_supported", List.of("id_token"));
    doc.put("subject_types_supported", List.of("public"));
    doc.put("id_token_signing_alg_values_supported", List.of(k.algorithm().jwsName()));
    doc.put("claims_supported", List.of("iss", "sub", "aud", "exp", "iat", "nbf", "jti"));
    return JSONObjectUtils.toJSONString(doc);
  }

  private static Duration maxAge(StoredKey k) {
    return Duration.ofSeconds(Math.max(0, k.publishAhead() - k.skew()));
  }

  private static String etag(String json) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(json.getBytes(StandardCharsets.UTF_8));
      return "\"" + Base64URL.encode(Arrays.copyOf(h, 16)) + "\"";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }

  // ---- lifecycle ----

  /**
   * The lifecycle step the server runs periodically: for every key, a scheduled rotation when rotation_period says the
   * next version is due to be published (so it activates exactly one period after the active one did), and each
   * version's state change recorded (retirement made final). Idempotent; every change by compare-and-set.
   */
  public LifecycleReport tick(Instant now) {
    long at = now.getEpochSecond();
    List<LifecycleReport.Change> changes = new ArrayList<>();
    List<RotationResult> rotations = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (String name : listKeys()) {
      try {
        scheduledRotation(name, at).ifPresent(rotations::add);
        changes.addAll(recordStates(name, at));
      } catch (KeywardenException e) {
        problems.add("JWT key '" + name + "': " + e.getMessage());
      }
    }
    return new LifecycleReport(changes, rotations, problems);
  }

  private Optional<RotationResult> scheduledRotation(String name, long at) {
    StoredKey k = read(name).key();
    if (k.rotationPeriod() == 0 || pending(k, at).isPresent()) {
      return Optional.empty();
    }
    Optional<StoredVersion> active = new Timeline(k, at).signing();
    if (active.isEmpty() || at < active.get().activateAt() + k.rotationPeriod() - k.publishAhead()) {
      return Optional.empty();
    }
    int activeVersion = active.get().version();
    Optional<StoredVersion> made = addVersion(name, at,
        cur -> Math.max(at + cur.publishAhead(), active.get().activateAt() + cur.rotationPeriod()),
        cur -> pending(cur, at).isEmpty() && new Timeline(cur, at).signing()
            .map(v -> v.version() == activeVersion).orElse(false));
    return made.map(v -> result(read(name).key(), v, true, Optional.empty()));
  }

  private List<LifecycleReport.Change> recordStates(String name, long at) {
    List<LifecycleReport.Change> changes = new ArrayList<>();
    change(name, cur -> {
      changes.clear(); // a lost compare-and-set runs this again
      Timeline t = new Timeline(cur, at);
      StoredKey next = cur;
      for (StoredVersion v : cur.versions()) {
        JwtVersionState s = t.state(v);
        if (s == v.recordedState() && (s != JwtVersionState.RETIRED || v.retiredAt() != 0)) {
          continue;
        }
        if (s != v.recordedState()) {
          changes.add(new LifecycleReport.Change(name, v.version(), v.kid(), v.recordedState(), s));
        }
        next = next.withVersion(v.version(), x -> {
          StoredVersion y = x.withRecordedState(s);
          return s == JwtVersionState.RETIRED ? y.retired(at) : y;
        });
      }
      return next;
    });
    return changes;
  }

  /**
   * Destroys the private keys of retired versions (expired or revoked): retirement is made final first, so nothing
   * signed with them is handed out any more, then the HSM key pair (or the wrapped software key) goes.
   */
  public LifecycleReport tidy(Instant now) {
    long at = now.getEpochSecond();
    List<LifecycleReport.Change> changes = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (String name : listKeys()) {
      try {
        changes.addAll(recordStates(name, at));
        StoredKey k = read(name).key();
        for (StoredVersion v : k.versions()) {
          if (v.destroyedAt() != 0 || new Timeline(k, at).state(v) != JwtVersionState.RETIRED) {
            continue;
          }
          destroyMaterial(name, v).ifPresent(problems::add);
          change(name, cur -> cur.withVersion(v.version(), x -> x.destroyedAt() != 0 ? x : x.destroyed(at)));
          changes.add(new LifecycleReport.Change(name, v.version(), v.kid(), JwtVersionState.RETIRED,
              JwtVersionState.DESTROYED));
        }
        change(name, JwtEngine::dropOldDestroyed);
      } catch (KeywardenException e) {
        problems.add("JWT key '" + name + "': " + e.getMessage());
      }
    }
    return new LifecycleReport(changes, List.of(), problems);
  }

  private static StoredKey dropOldDestroyed(StoredKey k) {
    List<StoredVersion> destroyed = k.versions().stream().filter(v -> v.destroyedAt() != 0).toList();
    if (destroyed.size() <= DESTROYED_KEPT) {
      return k;
    }
    List<Integer> drop = destroyed.stream().map(StoredVersion::version).sorted()
        .limit(destroyed.size() - DESTROYED_KEPT).toList();
    return new StoredKey(k.name(), k.algorithm(), k.rsaBits(), k.software(), k.issuer(), k.publishAhead(),
        k.rotationPeriod(), k.maxTokenTtl(), k.skew(), k.createdAt(), k.nextVersion(),
        k.versions().stream().filter(v -> !drop.contains(v.version())).toList());
  }

  // ---- versions ----

  /**
   * Makes a version's key (in the HSM, or in software wrapped by the KEK) and adds it by compare-and-set with the
   * activation time {@code activateAt} gives, if {@code stillWanted} holds for the key as stored then; otherwise the
   * new key is destroyed and nothing is added.
   */
  private Optional<StoredVersion> addVersion(String name, long createdAt, ToLongFunction<StoredKey> activateAt,
      Predicate<StoredKey> stillWanted) {
    StoredKey k = read(name).key();
    StoredVersion made = newVersion(k, createdAt, 0);
    AtomicReference<StoredVersion> added = new AtomicReference<>();
    try {
      change(name, cur -> {
        added.set(null);
        if (!stillWanted.test(cur)) {
          return cur;
        }
        StoredVersion v = new StoredVersion(cur.nextVersion(), made.kid(), createdAt, activateAt.applyAsLong(cur),
            made.hsmLabel(), made.hsmId(), made.wrappedKey(), made.publicJwk(), 0, 0, 0, 0,
            JwtVersionState.PENDING);
        added.set(v);
        return cur.withNewVersion(v);
      });
    } catch (RuntimeException e) {
      destroyQuietly(name, made);
      throw e;
    }
    if (added.get() == null) {
      destroyQuietly(name, made);
    }
    return Optional.ofNullable(added.get());
  }

  private StoredVersion newVersion(StoredKey k, long createdAt, long activateAt) {
    KeyType type = k.algorithm().keyType(k.rsaBits());
    if (k.software()) {
      KeyPair pair = type.newSoftwareKeyPair(random);
      JWK jwk = PublicJwks.of(k.algorithm(), pair.getPublic());
      byte[] pkcs8 = pair.getPrivate().getEncoded();
      try {
        return new StoredVersion(k.nextVersion(), jwk.getKeyID(), createdAt, activateAt, null, null,
            softwareKeys.wrap(pkcs8), jwk.toJSONString(), 0, 0, 0, 0, JwtVersionState.PENDING);
      } finally {
        Arrays.fill(pkcs8, (byte) 0);
      }
    }
    Hsm hsm = core.unsealed().hsm();
    byte[] suffix = new byte[6];
    random.nextBytes(suffix);
    HsmKeyId id = hsm.generateKeyPair("jwt-" + k.name() + "-" + HexFormat.of().formatHex(suffix), type.algorithm());
    try {
      JWK jwk = PublicJwks.of(k.algorithm(), hsm.signer(id).publicKey());
      return new StoredVersion(k.nextVersion(), jwk.getKeyID(), createdAt, activateAt, id.label(), id.idHex(), null,
          jwk.toJSONString(), 0, 0, 0, 0, JwtVersionState.PENDING);
    } catch (RuntimeException e) {
      try {
        hsm.destroyKey(id);
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** Destroys a version's private key; the problem, if it could not be, for the caller and the log. */
  private Optional<String> destroyMaterial(String name, StoredVersion v) {
    forgetSigners(name, v);
    if (v.software()) {
      return Optional.empty(); // the wrapped key goes with the record
    }
    try {
      core.unsealed().hsm().destroyKey(v.hsmKey());
      return Optional.empty();
    } catch (KeywardenException e) {
      if (e.kind() == Kind.NOT_FOUND) {
        return Optional.empty(); // gone already
      }
      String problem = "JWT key '" + name + "' version " + v.version() + ": HSM key '" + v.hsmLabel() + "' (id "
          + v.hsmId() + ") was not destroyed: " + e.getMessage();
      log.warn(problem);
      return Optional.of(problem);
    }
  }

  private void destroyQuietly(String name, StoredVersion v) {
    destroyMaterial(name, v);
  }

  private void forgetSigners(String name, StoredVersion v) {
    String cacheKey = name + "/" + v.kid();
    signers.forget(cacheKey::equals);
    softwareKeys.forget(cacheKey::equals);
  }

  private static Optional<StoredVersion> pending(StoredKey k, long at) {
    Timeline t = new Timeline(k, at);
    return k.versions().stream().filter(v -> t.state(v) == JwtVersionState.PENDING)
        .min(Comparator.comparingLong(StoredVersion::activateAt));
  }

  private RotationResult result(StoredKey k, StoredVersion v, boolean fresh, Optional<String> warning) {
    return new RotationResult(k.name(), v.version(), v.kid(), Instant.ofEpochSecond(v.activateAt()), fresh, warning);
  }

  // ---- records and caches ----

  private JwtKeyInfo info(StoredKey k, long now) {
    Timeline t = new Timeline(k, now);
    List<JwtVersionInfo> versions = new ArrayList<>();
    for (StoredVersion v : k.versions()) {
      versions.add(new JwtVersionInfo(v.version(), v.kid(), t.state(v), Instant.ofEpochSecond(v.createdAt()),
          Instant.ofEpochSecond(v.activateAt()), t.deactivatedAt(v).map(Instant::ofEpochSecond),
          time(v.signedUntil()), t.verifyUntil(v).map(Instant::ofEpochSecond), time(v.retiredAt()),
          time(v.revokedAt()), time(v.destroyedAt()), v.software(), Optional.ofNullable(v.hsmLabel())));
    }
    return new JwtKeyInfo(k.settings(), Instant.ofEpochSecond(k.createdAt()), versions,
        t.signing().map(StoredVersion::kid));
  }

  private static Optional<Instant> time(long epochSecond) {
    return epochSecond == 0 ? Optional.empty() : Optional.of(Instant.ofEpochSecond(epochSecond));
  }

  /** Read-modify-write of a key record by compare-and-set; {@code change} may throw to refuse. */
  private StoredKey change(String name, UnaryOperator<StoredKey> change) {
    StoredKey out = CasRetry.untilStored("JWT key '" + name + "'", () -> {
      StoredEntry e = store().get(KEYS + name).orElseThrow(() -> notFound(name));
      StoredKey cur = JwtRecords.readKey(e);
      StoredKey next = change.apply(cur);
      if (next == cur) {
        return Optional.of(cur);
      }
      return keyFeed.writing(() -> store().compareAndSet(KEYS + name, e.version(), JwtRecords.write(next)))
          ? Optional.of(next)
          : Optional.empty();
    });
    forgetKey(name);
    return out;
  }

  private Loaded read(String name) {
    Storage storage = store();
    Loaded cached = keys.get(name);
    if (cached != null) {
      return cached;
    }
    long changes;
    synchronized (keys) {
      changes = keyChanges;
    }
    Loaded read = new Loaded(storage.get(KEYS + name).map(JwtRecords::readKey).orElseThrow(() -> notFound(name)));
    synchronized (keys) {
      if (changes == keyChanges) {
        keys.put(name, read);
      }
    }
    return read;
  }

  private void forgetKey(String name) {
    synchronized (keys) {
      keyChanges++;
      keys.remove(name);
    }
  }

  private void forgetAllKeys() {
    synchronized (keys) {
      keyChanges++;
      keys.clear();
    }
  }

  private long now() {
    return clock.instant().getEpochSecond();
  }

  /** The storage, once the core is unsealed. */
  private Storage store() {
    core.unsealed();
    return core.storage();
  }

  private static void checkKeyName(String name) {
    Inputs.name("a JWT key name", name);
  }

  private static KeywardenException notFound(String name) {
    return KeywardenException.notFound("JWT key '" + Inputs.quoted(name) + "' not found; create it first or list"
        + " the keys");
  }

  private static KeywardenException exists(String name) {
    return KeywardenException.alreadyExists("JWT key '" + name + "' already exists; rotate it, or delete it first");
  }
}
