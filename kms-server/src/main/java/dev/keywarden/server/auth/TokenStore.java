package dev.keywarden.server.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.KeyEncryptionKey;
import dev.keywarden.storage.CacheFeed;
import dev.keywarden.storage.LastKnown;
import dev.keywarden.storage.StorageOps;
import dev.keywarden.storage.StoredEntry;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.Unsealed;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Tokens: 256 random bits, handed out once and stored only as a keyed hash (HMAC-SHA256 under a token key that is
 * itself stored wrapped by the KEK). The hash's first 128 bits are the token's accessor and its storage key.
 * Resolved tokens are cached; a revoke and a cache fill for the same accessor are serialized, so a revoked token is
 * never served from the cache. Tokens that expire are also indexed by expiry time ({@code sys/token-expiry/TIME/ACCESSOR}),
 * so {@link #tidy} removes the expired ones in bounded batches, reading only them.
 */
public final class TokenStore {
  /** Where the token key is stored, wrapped by the KEK. */
  public static final String TOKEN_KEY = "sys/keys/token-hmac";
  static final String PREFIX = "sys/tokens/";
  private static final String TOKEN_PREFIX = "kwt_";
  /** A token's length: {@link #TOKEN_PREFIX} and 256 bits in unpadded base64url. */
  private static final int TOKEN_LENGTH = TOKEN_PREFIX.length() + 43;
  private static final Pattern ACCESSOR_SHAPE = Pattern.compile("[0-9a-f]{32}");
  /** The index of the token tree: {@code sys/token-children/PARENT/CHILD}, empty values. */
  static final String CHILDREN = "sys/token-children/";
  private static final ObjectMapper JSON = new ObjectMapper()
      .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  private static final int CACHE_LIMIT = 100_000;
  /**
   * The expiry index: {@code sys/token-expiry/EXPIRE_MILLIS/ACCESSOR} (the time zero-padded to 16 digits, so key
   * order is time order), empty values, for every token that expires. Written in the token's own transaction.
   */
  static final String EXPIRY = "sys/token-expiry/";
  /**
   * Present once every stored token that expires is in the expiry index: written at init, or by the first
   * {@link #tidy} over a store an earlier version wrote (which indexes the tokens already there, once).
   */
  static final String EXPIRY_INDEXED = "sys/config/token-expiry-indexed";
  /** Tokens removed (or indexed, when building the index) per transaction. */
  static final int TIDY_BATCH = 500;

  private final Core core;
  private final Clock clock;
  private final SecureRandom random;
  private final ConcurrentHashMap<String, Optional<TokenRecord>> cache = new ConcurrentHashMap<>();
  /** Forgets cached tokens on every committed change under sys/tokens/, by this server or another. */
  private final CacheFeed feed;
  /** The tokens last read, answered while storage cannot be read (PostgreSQL down): see {@link LastKnown}. */
  private final LastKnown<String, TokenRecord> lastKnown = new LastKnown<>(CACHE_LIMIT);
  /** Built from the token key on first use after an unseal, and used only while that unseal lasts. */
  private volatile BoundHasher hasher;

  private record BoundHasher(Unsealed owner, TokenHasher hasher) {}

  public TokenStore(Core core, Clock clock, SecureRandom random) {
    this.core = core;
    this.clock = clock;
    this.random = random;
    core.addSealListener(this::clearCache);
    // a token revoked (or its parent's tree) on any server sharing the store is forgotten here too
    this.feed = CacheFeed.watch(core.storage(), PREFIX, this::forget, cache::clear);
  }

  /**
   * HMAC-SHA256 under the token key with one Mac per thread, so resolving a token takes no lock: every authenticated
   * request does it.
   */
  private static final class TokenHasher {
    private final ThreadLocal<Mac> macs;

    TokenHasher(byte[] tokenKey) {
      SecretKeySpec key = new SecretKeySpec(tokenKey, "HmacSHA256");
      this.macs = ThreadLocal.withInitial(() -> {
        try {
          Mac mac = Mac.getInstance("HmacSHA256");
          mac.init(key);
          return mac;
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException("HMAC-SHA256 unavailable", e);
        }
      });
    }

    String accessor(String token) {
      byte[] digest = macs.get().doFinal(token.getBytes(StandardCharsets.US_ASCII));
      return HexFormat.of().formatHex(digest, 0, 16);
    }
  }

  /** A token just made: the secret (shown once) and its record. */
  public record Issued(String token, TokenRecord record) {
    @Override
    public String toString() {
      return "Issued[accessor=" + record.accessor() + "]";
    }
  }

  /** At init, in the envelope's transaction: makes the token key and the first root token; returns the token. */
  public String initialize(StorageOps tx, KeyEncryptionKey kek) {
    byte[] tokenKey = new byte[32];
    random.nextBytes(tokenKey);
    try {
      tx.put(TOKEN_KEY, kek.wrap(tokenKey));
      String token = newToken();
      TokenRecord root = new TokenRecord(accessor(tokenKey, token), List.of(Policy.ROOT), "root", clock.millis(), 0,
          null, null);
      tx.put(PREFIX + root.accessor(), encode(root));
      tx.put(EXPIRY_INDEXED, new byte[0]); // a new store: every token is indexed as it is made
      return token;
    } finally {
      Arrays.fill(tokenKey, (byte) 0);
    }
  }

  /** Makes a token with these policies and lifetime (zero: until revoked), with no parent. */
  public Issued create(List<String> policies, Duration ttl, String displayName) {
    return create(policies, ttl, displayName, null, Map.of());
  }

  /**
   * Makes a token below {@code parent} (a token caller's accessor, or null for none): its lifetime is cut to what the
   * parent has left, and revoking the parent revokes it. The record and its place in the tree are written in one
   * transaction that also checks the parent still exists, so a token is never created below a revoked one.
   */
  public Issued create(List<String> policies, Duration ttl, String displayName, Caller parent,
      Map<String, String> metadata) {
    String token = newToken();
    long now = clock.millis();
    long expire = ttl.isZero() ? 0 : now + ttl.toMillis();
    String parentAccessor = null;
    if (parent != null && !parent.accessor().isEmpty()) {
      parentAccessor = parent.accessor();
      if (parent.expireTime() != 0 && (expire == 0 || expire > parent.expireTime())) {
        expire = parent.expireTime();
      }
      if (expire != 0 && expire <= now) {
        throw new KeywardenException(Kind.UNAUTHENTICATED, "the token has expired");
      }
    }
    TokenRecord record = new TokenRecord(accessorOf(token), List.copyOf(policies), displayName, now, expire,
        parentAccessor, metadata.isEmpty() ? null : Map.copyOf(metadata));
    byte[] encoded = encode(record);
    String p = parentAccessor;
    core.storage().atomically(tx -> {
      if (p != null) {
        if (tx.get(PREFIX + p).isEmpty()) {
          throw new KeywardenException(Kind.UNAUTHENTICATED, "the token is not valid (unknown or revoked)");
        }
        tx.put(CHILDREN + p + "/" + record.accessor(), new byte[0]);
      }
      tx.put(PREFIX + record.accessor(), encoded);
      if (record.expireTime() != 0) {
        tx.put(expiryKey(record.expireTime(), record.accessor()), new byte[0]);
      }
      return null;
    });
    return new Issued(token, record);
  }

  /** A new root token (generate-root). */
  public String mintRoot() {
    return create(List.of(Policy.ROOT), Duration.ZERO, "root").token();
  }

  /** The caller a bearer token stands for; UNAUTHENTICATED when it is unknown, revoked or expired. */
  public Caller resolve(String token) {
    if (!wellFormed(token)) {
      throw new KeywardenException(Kind.UNAUTHENTICATED, "the token is malformed: Keywarden tokens look like kwt_…");
    }
    return lookup(hash(token), Kind.UNAUTHENTICATED).caller();
  }

  /**
   * The caller of {@code token} when answering needs neither storage nor the HSM: the token's hasher made and the
   * token cached, with the change feed live (so a revocation elsewhere would have been heard). Empty otherwise, and for
   * a token unknown, expired or malformed: {@link #resolve} then answers, and may read storage. Lets the server run a
   * call on the event loop that read it only when authenticating it cannot wait.
   */
  public Optional<Caller> callerIfCached(String token) {
    BoundHasher bound = hasher;
    if (bound == null || !feed.live() || !wellFormed(token) || core.isSealed()) {
      return Optional.empty();
    }
    Optional<TokenRecord> record = cache.get(bound.hasher().accessor(token));
    if (record == null || record.isEmpty() || record.get().expiredAt(clock.millis())) {
      return Optional.empty();
    }
    return Optional.of(record.get().caller());
  }

  /** The record behind an accessor; NOT_FOUND when unknown or expired. */
  public TokenRecord byAccessor(String accessor) {
    if (accessor == null || !ACCESSOR_SHAPE.matcher(accessor).matches()) {
      throw KeywardenException.invalid("an accessor is 32 lowercase hex characters");
    }
    return lookup(accessor, Kind.NOT_FOUND);
  }

  /** The accessor of a token (its keyed hash), without checking that the token exists. */
  public String accessorOf(String token) {
    if (!wellFormed(token)) {
      throw KeywardenException.invalid("the token is malformed: Keywarden tokens look like kwt_…");
    }
    return hash(token);
  }

  /**
   * Whether {@code token} is {@code kwt_} and 43 characters of base64url (the pattern {@code kwt_[A-Za-z0-9_-]{43}}),
   * checked by hand: every authenticated request asks.
   */
  static boolean wellFormed(String token) {
    if (token == null || token.length() != TOKEN_LENGTH || !token.startsWith(TOKEN_PREFIX)) {
      return false;
    }
    for (int i = TOKEN_PREFIX.length(); i < TOKEN_LENGTH; i++) {
      char c = token.charAt(i);
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /** The accessor of a well-formed token. */
  private String hash(String token) {
    Unsealed unsealed = core.unsealed();
    BoundHasher bound = hasher;
    if (bound == null || bound.owner() != unsealed) {
      bound = new BoundHasher(unsealed, unsealed.workingKeys().withKey(TOKEN_KEY, TokenHasher::new));
      hasher = bound;
    }
    return bound.hasher().accessor(token);
  }

  /**
   * Revokes a token and every token below it in one transaction; NOT_FOUND when there is no such token. Returns how
   * many tokens were revoked.
   */
  public int revoke(String accessor) {
    if (accessor == null || !ACCESSOR_SHAPE.matcher(accessor).matches()) {
      throw KeywardenException.invalid("an accessor is 32 lowercase hex characters");
    }
    List<String> gone = core.storage().atomically(tx -> {
      Optional<StoredEntry> self = tx.get(PREFIX + accessor);
      if (self.isEmpty()) {
        return List.<String>of();
      }
      String parent = decode(self.get().value()).parent();
      if (parent != null) {
        tx.delete(CHILDREN + parent + "/" + accessor);
      }
      List<String> all = new ArrayList<>();
      ArrayDeque<String> todo = new ArrayDeque<>(List.of(accessor));
      while (!todo.isEmpty()) {
        String a = todo.poll();
        all.add(a);
        for (String edge : tx.list(CHILDREN + a + "/")) {
          todo.add(edge.substring(edge.lastIndexOf('/') + 1));
          tx.delete(edge);
        }
        tx.delete(PREFIX + a);
      }
      return all;
    });
    if (gone.isEmpty()) {
      throw KeywardenException.notFound("no token with accessor " + accessor);
    }
    // After the commit, so a cache fill racing with this one reads storage without the tokens.
    gone.forEach(this::forget);
    return gone.size();
  }

  /** What {@link #tidy} did: tokens removed, transactions used, and whether expired tokens are left for next time. */
  public record Tidied(int removed, int batches, boolean more) {
    /** One line for the periodic task's log; null when nothing was removed. */
    public String summary() {
      return removed == 0 ? null : "removed " + removed + " expired tokens in " + batches + " batches"
          + (more ? " (more left for the next run)" : "");
    }
  }

  /**
   * Removes tokens that expired before {@code now}, oldest first, at most {@code maxTokens} of them, in transactions
   * of at most {@value #TIDY_BATCH}: it reads the expiry index's expired range and those tokens only. Their edges in
   * the token tree go with them (a child expires no later than its parent, so it goes in the same or an earlier
   * pass). Index entries of revoked tokens are dropped as their time comes. On a store written by an earlier version,
   * the first run indexes the tokens already there (a page at a time; safe to repeat if interrupted).
   */
  public Tidied tidy(java.time.Instant now, int maxTokens) {
    core.unsealed();
    indexExpiryOnce();
    long cutoff = now.toEpochMilli();
    int removed = 0;
    int batches = 0;
    while (removed < maxTokens) {
      List<String> due = core.storage().list(EXPIRY, "", Math.min(TIDY_BATCH, maxTokens - removed)).stream()
          .filter(k -> expiryTime(k) <= cutoff).toList();
      if (due.isEmpty()) {
        return new Tidied(removed, batches, false);
      }
      List<String> gone = feed.writing(() -> core.storage().atomically(tx -> {
        List<String> accessors = new ArrayList<>();
        for (String entry : due) {
          String accessor = entry.substring(entry.lastIndexOf('/') + 1);
          Optional<StoredEntry> stored = tx.get(PREFIX + accessor);
          if (stored.isPresent()) {
            TokenRecord r = decode(stored.get().value());
            if (r.expiredAt(cutoff)) {
              if (r.parent() != null) {
                tx.delete(CHILDREN + r.parent() + "/" + accessor);
              }
              tx.delete(PREFIX + accessor);
              accessors.add(accessor);
            }
          }
          tx.delete(entry);
        }
        return accessors;
      }));
      gone.forEach(cache::remove);
      removed += gone.size();
      batches++;
      if (due.size() < TIDY_BATCH && removed < maxTokens) {
        return new Tidied(removed, batches, false);
      }
    }
    List<String> next = core.storage().list(EXPIRY, "", 1);
    return new Tidied(removed, batches, !next.isEmpty() && expiryTime(next.get(0)) <= cutoff);
  }

  /** Puts the tokens of a store written before the expiry index into it, once (the marker says it is done). */
  private void indexExpiryOnce() {
    if (core.storage().get(EXPIRY_INDEXED).isPresent()) {
      return;
    }
    String after = "";
    while (true) {
      List<String> page = core.storage().list(PREFIX, after, TIDY_BATCH);
      core.storage().atomically(tx -> {
        for (String key : page) {
          tx.get(key).map(e -> decode(e.value())).filter(r -> r.expireTime() != 0)
              .ifPresent(r -> tx.put(expiryKey(r.expireTime(), r.accessor()), new byte[0]));
        }
        if (page.size() < TIDY_BATCH) {
          tx.put(EXPIRY_INDEXED, new byte[0]);
        }
        return null;
      });
      if (page.size() < TIDY_BATCH) {
        return;
      }
      after = page.get(page.size() - 1);
    }
  }

  /** The expiry index's key for a token expiring at {@code expireMillis}. */
  public static String expiryKey(long expireMillis, String accessor) {
    return EXPIRY + String.format("%016d", expireMillis) + "/" + accessor;
  }

  private static long expiryTime(String indexKey) {
    int start = EXPIRY.length();
    return Long.parseLong(indexKey.substring(start, indexKey.indexOf('/', start)));
  }

  private TokenRecord lookup(String accessor, Kind missing) {
    if (cache.size() > CACHE_LIMIT) {
      cache.clear();
    }
    // while the change feed reconnects, a revocation elsewhere could go unheard: read storage, keep nothing
    // while storage cannot be read, the token as last read (nobody can revoke it in a store nobody reaches)
    TokenRecord record = lastKnown.read(accessor, a -> (feed.live()
        ? cache.computeIfAbsent(a, x -> core.storage().get(PREFIX + x).map(e -> decode(e.value())))
        : core.storage().get(PREFIX + a).map(e -> decode(e.value()))).orElse(null));
    if (record == null) {
      cache.remove(accessor, Optional.empty());
      throw new KeywardenException(missing, missing == Kind.UNAUTHENTICATED
          ? "the token is not valid (unknown or revoked)" : "no token with accessor " + accessor);
    }
    if (record.expiredAt(clock.millis())) {
      throw new KeywardenException(missing, missing == Kind.UNAUTHENTICATED
          ? "the token has expired" : "token " + accessor + " has expired");
    }
    return record;
  }

  /** Forgets cached tokens and the hasher (on seal). */
  public void clearCache() {
    hasher = null;
    cache.clear();
    lastKnown.clear();
  }

  /** Forgets one token: it changed or went. */
  private void forget(String accessor) {
    cache.remove(accessor);
    lastKnown.forget(accessor);
  }

  private String newToken() {
    byte[] raw = new byte[32];
    random.nextBytes(raw);
    try {
      return TOKEN_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
  }

  private static String accessor(byte[] tokenKey, String token) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(tokenKey, "HmacSHA256"));
      byte[] digest = mac.doFinal(token.getBytes(StandardCharsets.US_ASCII));
      return HexFormat.of().formatHex(digest, 0, 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 unavailable", e);
    }
  }

  private static byte[] encode(TokenRecord record) {
    try {
      return JSON.writeValueAsBytes(record);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static TokenRecord decode(byte[] stored) {
    try {
      return JSON.readValue(stored, TokenRecord.class);
    } catch (IOException e) {
      throw KeywardenException.precondition("a stored token record is damaged");
    }
  }
}
