package dev.keywarden.server.auth;

import dev.keywarden.callerjson.CallerJson;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.storage.CacheFeed;
import dev.keywarden.storage.LastKnown;
import dev.keywarden.storage.Storage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Named policies in storage under {@code sys/policies/}, parsed once and kept in memory so the request path does not
 * read storage. Writes and deletes go through the same per-name lock as cache fills, so a stale policy is never cached.
 */
public final class PolicyStore {
  static final String PREFIX = "sys/policies/";
  private final Storage storage;
  private final Supplier<Capabilities> capabilities;
  private final ConcurrentHashMap<String, Optional<Policy>> cache = new ConcurrentHashMap<>();

  private final CacheFeed feed;
  /** The policies last read, answered while storage cannot be read (PostgreSQL down): see {@link LastKnown}. */
  private final LastKnown<String, Policy> lastKnown = new LastKnown<>(10_000);

  public PolicyStore(Storage storage, Supplier<Capabilities> capabilities) {
    this.storage = storage;
    this.capabilities = capabilities;
    // a policy written or deleted on any server sharing the store is forgotten here too
    this.feed = CacheFeed.watch(storage, PREFIX, name -> {
      cache.remove(name);
      lastKnown.forget(name);
    }, cache::clear);
  }

  /** Creates or replaces a policy from its JSON document; returns the parsed policy. */
  public Policy write(String name, String document) {
    Policy.validateName(name);
    if (Policy.ROOT.equals(name)) {
      throw KeywardenException.invalid("'root' is the built-in policy and cannot be written");
    }
    Policy policy = Policy.parse(name, document, capabilities.get());
    byte[] normalized = policy.toJson().getBytes(StandardCharsets.UTF_8);
    feed.writing(() -> cache.compute(name, (n, old) -> {
      storage.put(PREFIX + n, normalized);
      lastKnown.remember(n, policy);
      return Optional.of(policy);
    }));
    return policy;
  }

  /** The named policy; NOT_FOUND when there is none. */
  public Policy read(String name) {
    Policy.validateName(name);
    if (Policy.ROOT.equals(name)) {
      return new Policy(Policy.ROOT, List.of(PolicyRule.of("*", List.copyOf(capabilities.get().grantable()))));
    }
    return find(name).orElseThrow(() -> KeywardenException.notFound("no policy named '" + name + "'"));
  }

  /** Whether {@link #find} answers for {@code name} without reading storage (root, or cached with the feed live). */
  public boolean cached(String name) {
    return Policy.ROOT.equals(name) || (feed.live() && cache.containsKey(name));
  }

  /** The named policy if it exists (cached). */
  Optional<Policy> find(String name) {
    // while storage cannot be read, the policy as last read (nobody can change it in a store nobody reaches)
    return Optional.ofNullable(lastKnown.read(name, this::cachedOrRead));
  }

  private Policy cachedOrRead(String name) {
    if (!feed.live()) { // the change feed reconnects: a change elsewhere could go unheard, so keep nothing
      return storage.get(PREFIX + name).map(e -> stored(name, e.value())).orElse(null);
    }
    return cache.computeIfAbsent(name, n -> storage.get(PREFIX + n).map(e -> stored(n, e.value()))).orElse(null);
  }

  private Policy stored(String name, byte[] value) {
    return CallerJson.readStored("policy '" + name + "'",
        () -> Policy.parse(name, new String(value, StandardCharsets.UTF_8), capabilities.get()));
  }

  /**
   * One page of the policy names: "root" first (it is built in, not stored), then the stored ones sorted; at most
   * {@code limit} after {@code after} ("" for the first page; "root" for the stored ones from the start). One range
   * read of storage.
   */
  public List<String> list(String after, int limit) {
    List<String> names = new ArrayList<>();
    if (after.isEmpty()) {
      names.add(Policy.ROOT);
    }
    if (names.size() < limit) {
      String from = after.isEmpty() || after.equals(Policy.ROOT) ? "" : PREFIX + after;
      storage.list(PREFIX, from, limit - names.size()).forEach(k -> names.add(k.substring(PREFIX.length())));
    }
    return names;
  }

  /** Deletes a policy; NOT_FOUND when there is none. Tokens naming it lose its rules at once. */
  public void delete(String name) {
    Policy.validateName(name);
    if (Policy.ROOT.equals(name)) {
      throw KeywardenException.invalid("'root' is the built-in policy and cannot be deleted");
    }
    boolean[] existed = new boolean[1];
    feed.writing(() -> cache.compute(name, (n, old) -> {
      existed[0] = storage.delete(PREFIX + n);
      lastKnown.forget(n);
      return Optional.empty();
    }));
    if (!existed[0]) {
      throw KeywardenException.notFound("no policy named '" + name + "'");
    }
  }

  /** Forgets cached policies (after seal). */
  public void clearCache() {
    cache.clear();
    lastKnown.clear();
  }
}
