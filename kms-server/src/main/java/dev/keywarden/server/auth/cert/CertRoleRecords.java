package dev.keywarden.server.auth.cert;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.pki.Role;
import dev.keywarden.storage.CacheFeed;
import dev.keywarden.storage.Storage;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Cert roles in storage under {@code auth/cert/roles/NAME}, as JSON (unknown fields ignored, for rolling upgrades),
 * kept in memory once read. Writes and deletes go through the same per-name lock as cache fills, so a stale role is
 * never cached; listeners hear of every change after it is stored (the authenticator drops its verdicts).
 */
public final class CertRoleRecords {
  static final String PREFIX = "auth/cert/roles/";
  private static final ObjectMapper JSON = new ObjectMapper()
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private final Storage storage;
  private final ConcurrentHashMap<String, Optional<CertRole>> cache = new ConcurrentHashMap<>();
  private final List<Runnable> changeListeners = new CopyOnWriteArrayList<>();

  private final CacheFeed feed;

  public CertRoleRecords(Storage storage) {
    this.storage = storage;
    // a role written or deleted on any server sharing the store is forgotten here too, and the verdicts with it
    this.feed = CacheFeed.watch(storage, PREFIX, name -> {
      cache.remove(name);
      changeListeners.forEach(Runnable::run);
    }, () -> {
      cache.clear();
      changeListeners.forEach(Runnable::run);
    });
  }

  /** The stored form: names as in the API, the TTL in seconds. */
  record StoredCertRole(
      @JsonProperty("name") String name,
      @JsonProperty("trusted_issuer_ids") List<String> trustedIssuerIds,
      @JsonProperty("trusted_ca_pems") List<String> trustedCaPems,
      @JsonProperty("allowed_common_names") List<String> allowedCommonNames,
      @JsonProperty("allowed_dns_sans") List<String> allowedDnsSans,
      @JsonProperty("allowed_uri_sans") List<String> allowedUriSans,
      @JsonProperty("policies") List<String> policies,
      @JsonProperty("token_ttl_seconds") long tokenTtlSeconds) {}

  /** Runs {@code listener} after every write or delete. */
  public void addChangeListener(Runnable listener) {
    changeListeners.add(listener);
  }

  /** Creates or replaces a role. */
  public void write(CertRole role) {
    byte[] encoded = encode(role);
    feed.writing(() -> cache.compute(role.name(), (n, old) -> {
      storage.put(PREFIX + n, encoded);
      return Optional.of(role);
    }));
    changeListeners.forEach(Runnable::run);
  }

  /** The named role if it exists (cached). */
  public Optional<CertRole> find(String name) {
    Role.checkName(name);
    if (!feed.live()) { // the change feed reconnects: a change elsewhere could go unheard, so keep nothing
      return storage.get(PREFIX + name).map(e -> decode(e.value()));
    }
    return cache.computeIfAbsent(name, n -> storage.get(PREFIX + n).map(e -> decode(e.value())));
  }

  /** The named role; NOT_FOUND naming how to list them. */
  public CertRole read(String name) {
    return find(name).orElseThrow(() -> KeywardenException.notFound("no cert role named '" + name
        + "' (keywarden cert-role list)"));
  }

  /**
   * One page of the role names, sorted: at most {@code limit} after {@code after} (exclusive; "" for the first
   * page). One range read of storage, however many there are.
   */
  public List<String> list(String after, int limit) {
    return storage.list(PREFIX, after.isEmpty() ? "" : PREFIX + after, limit).stream()
        .map(k -> k.substring(PREFIX.length())).toList();
  }

  /** Every role (for choosing the one a certificate matches). */
  public List<CertRole> all() {
    return storage.list(PREFIX).stream().map(k -> find(k.substring(PREFIX.length()))).flatMap(Optional::stream)
        .toList();
  }

  /** Deletes a role; NOT_FOUND when there is none. */
  public void delete(String name) {
    Role.checkName(name);
    boolean[] existed = new boolean[1];
    feed.writing(() -> cache.compute(name, (n, old) -> {
      existed[0] = storage.delete(PREFIX + n);
      return Optional.empty();
    }));
    if (!existed[0]) {
      throw KeywardenException.notFound("no cert role named '" + name + "'");
    }
    changeListeners.forEach(Runnable::run);
  }

  private static byte[] encode(CertRole r) {
    try {
      return JSON.writeValueAsBytes(new StoredCertRole(r.name(), r.trustedIssuerIds(), r.trustedCaPems(),
          r.allowedCommonNames(), r.allowedDnsSans(), r.allowedUriSans(), r.policies(), r.tokenTtl().toSeconds()));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static CertRole decode(byte[] stored) {
    try {
      StoredCertRole s = JSON.readValue(stored, StoredCertRole.class);
      return new CertRole(s.name(), s.trustedIssuerIds(), s.trustedCaPems(), s.allowedCommonNames(),
          s.allowedDnsSans(), s.allowedUriSans(), s.policies(), Duration.ofSeconds(s.tokenTtlSeconds()));
    } catch (IOException | KeywardenException e) {
      throw KeywardenException.precondition("a stored cert role is damaged");
    }
  }
}
