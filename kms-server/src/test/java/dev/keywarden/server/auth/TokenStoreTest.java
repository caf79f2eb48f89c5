package dev.keywarden.server.auth;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.failure.KeywardenException.Kind;
import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokens: stored only as a keyed hash, expiring, revocable at once even under concurrent use. */
class TokenStoreTest {
  @TempDir
  Path dir;

  Storage storage;
  Core core;
  TokenStore tokens;
  PolicyStore policies;
  AccessControl access;
  String root;
  final MutableClock clock = new MutableClock();

  @BeforeEach
  void setUp() {
    storage = SqliteStorage.open(dir);
    SecureRandom random = new SecureRandom();
    core = new Core(storage, new SoftwareHsmProvider(), random, 100);
    tokens = new TokenStore(core, clock, random);
    policies = new PolicyStore(storage, () -> new Capabilities(List.of("encrypt")));
    access = new AccessControl(policies);
    InitResult init = core.initialize(1, 1, null, false, tokens::initialize);
    root = init.rootToken();
    core.submitUnsealShare(init.shares().get(0));
    policies.write("enc", "{\"rules\":[{\"resource\":\"transit/keys/a\",\"capabilities\":[\"encrypt\"]}]}");
  }

  @AfterEach
  void tearDown() {
    core.shutdown();
    storage.close();
  }

  @Test
  void theRootTokenCanDoAnythingAndIsStoredOnlyAsAHash() {
    assertTrue(require(root, "sys/seal", "update").isRoot());
    for (String key : storage.list("")) {
      String value = new String(storage.get(key).orElseThrow().value(), StandardCharsets.ISO_8859_1);
      assertFalse(value.contains(root.substring(4)), "token found in storage at " + key);
      assertFalse(key.contains(root.substring(4)));
    }
  }

  @Test
  void aTokenIsWellFormedExactlyWhenItMatchesTheTokenPattern() {
    java.util.regex.Pattern shape = java.util.regex.Pattern.compile("kwt_[A-Za-z0-9_-]{43}");
    String body = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO_-";
    List<String> samples = new ArrayList<>(List.of(root, "kwt_" + body, "kwt_" + body + "x",
        "kwt_" + body.substring(1), "KWT_" + body, "kwx_" + body, "", "kwt_", "Bearer " + root));
    for (char c : "09AZaz_-+/=.@[`{ \u00e9\u0660".toCharArray()) {
      samples.add("kwt_" + c + body.substring(1));
      samples.add("kwt_" + body.substring(1) + c);
    }
    for (String s : samples) {
      assertEquals(shape.matcher(s).matches(), TokenStore.wellFormed(s), s);
    }
    assertFalse(TokenStore.wellFormed(null));
  }

  @Test
  void aTokenGetsOnlyWhatItsPoliciesGrant() {
    String t = tokens.create(List.of("enc"), Duration.ofHours(1), "app").token();
    assertEquals("app", require(t, "transit/keys/a", "encrypt").displayName());
    assertEquals(Kind.PERMISSION_DENIED, kind(() -> require(t, "transit/keys/a", "decrypt")));
    assertEquals(Kind.PERMISSION_DENIED, kind(() -> require(t, "sys/seal", "update")));
    assertEquals(Kind.UNAUTHENTICATED, kind(() -> require("", "sys/seal", "update")));
    assertEquals(Kind.UNAUTHENTICATED, kind(() -> require("kwt_x", "sys/seal", "update")));
    policies.delete("enc");
    assertEquals(Kind.PERMISSION_DENIED, kind(() -> require(t, "transit/keys/a", "encrypt")),
        "deleting a policy takes its grants away at once");
  }

  @Test
  void tokensExpire() {
    String t = tokens.create(List.of("enc"), Duration.ofMinutes(5), "").token();
    require(t, "transit/keys/a", "encrypt");
    clock.advance(Duration.ofMinutes(5));
    KeywardenException e = assertThrows(KeywardenException.class, () -> require(t, "transit/keys/a", "encrypt"));
    assertEquals(Kind.UNAUTHENTICATED, e.kind());
    assertTrue(e.getMessage().contains("expired"));
  }

  @Test
  void onlyRootHandsOutPoliciesItDoesNotHave() {
    Caller app = require(tokens.create(List.of("enc"), Duration.ofHours(1), "").token(),
        "transit/keys/a", "encrypt");
    policies.write("other", "{\"rules\":[{\"resource\":\"x\",\"capabilities\":[\"read\"]}]}");
    assertEquals(Kind.PERMISSION_DENIED, kind(() -> access.checkGrantable(app, List.of("other"))));
    assertEquals(Kind.PERMISSION_DENIED, kind(() -> access.checkGrantable(app, List.of("root"))));
    access.checkGrantable(app, List.of("enc"));
    Caller rootCaller = tokens.resolve(root);
    assertEquals(Kind.NOT_FOUND, kind(() -> access.checkGrantable(rootCaller, List.of("missing"))));
    assertEquals(Kind.INVALID_ARGUMENT, kind(() -> access.checkGrantable(rootCaller, List.of())));
  }

  @Test
  void sealedRequestsAreAPreconditionFailureBeforeTheTokenIsLookedAt() {
    core.seal();
    KeywardenException e = assertThrows(KeywardenException.class, () -> require(root, "sys/seal", "update"));
    assertEquals(Kind.FAILED_PRECONDITION, e.kind());
    assertTrue(e.getMessage().startsWith("sealed"));
  }

  @Test
  void aRevokedTokenNeverWorksAgainEvenWhileOthersUseItConcurrently() throws Exception {
    for (int round = 0; round < 20; round++) {
      String t = tokens.create(List.of("enc"), Duration.ofHours(1), "").token();
      AtomicBoolean revoked = new AtomicBoolean();
      CountDownLatch start = new CountDownLatch(1);
      ExecutorService pool = Executors.newFixedThreadPool(6);
      List<Future<Integer>> lateSuccesses = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        lateSuccesses.add(pool.submit(() -> {
          start.await();
          int late = 0;
          for (int j = 0; j < 300; j++) {
            boolean revokedBefore = revoked.get();
            try {
              require(t, "transit/keys/a", "encrypt");
              if (revokedBefore) {
                late++;
              }
            } catch (KeywardenException e) {
              assertEquals(Kind.UNAUTHENTICATED, e.kind());
            }
          }
          return late;
        }));
      }
      start.countDown();
      tokens.revoke(tokens.accessorOf(t));
      revoked.set(true);
      pool.shutdown();
      assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
      for (Future<Integer> f : lateSuccesses) {
        assertEquals(0, f.get(), "a request that started after revoke returned was let through");
      }
      assertEquals(Kind.UNAUTHENTICATED, kind(() -> require(t, "transit/keys/a", "encrypt")));
    }
  }

  @Test
  void manyTokensMadeConcurrentlyAreAllDistinctAndUsable() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<String>> made = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      made.add(pool.submit(() -> tokens.create(List.of("enc"), Duration.ofHours(1), "").token()));
    }
    List<String> all = new ArrayList<>();
    for (Future<String> f : made) {
      all.add(f.get());
    }
    pool.shutdown();
    assertEquals(400, all.stream().distinct().count());
    assertEquals(401, storage.list("sys/tokens/").size());
    for (String t : all) {
      require(t, "transit/keys/a", "encrypt");
    }
  }

  /** What the gate does for one call: sealed?, who is it?, may they? */
  private Caller require(String token, String resource, String capability) {
    core.unsealed();
    Caller caller = tokens.resolve(token);
    access.require(caller, resource, capability);
    return caller;
  }

  @Test
  void aChildTokenLivesNoLongerThanItsParentAndDiesWithIt() {
    Caller parent = tokens.resolve(tokens.create(List.of("enc"), Duration.ofHours(1), "parent").token());
    TokenStore.Issued child = tokens.create(List.of("enc"), Duration.ofDays(365), "child", parent, java.util.Map.of());
    assertEquals(parent.expireTime(), child.record().expireTime(), "a 1-year child of a 1-hour token is cut to 1 hour");
    assertEquals(parent.accessor(), child.record().parent());
    Caller childCaller = tokens.resolve(child.token());
    TokenStore.Issued grandchild = tokens.create(List.of("enc"), Duration.ofMinutes(5), "", childCaller,
        java.util.Map.of());
    TokenStore.Issued orphan = tokens.create(List.of("enc"), Duration.ofDays(365), "orphan", null, java.util.Map.of());
    require(grandchild.token(), "transit/keys/a", "encrypt");

    assertEquals(3, tokens.revoke(parent.accessor()), "the parent, its child and its grandchild");
    assertEquals(Kind.UNAUTHENTICATED, kind(() -> require(child.token(), "transit/keys/a", "encrypt")));
    assertEquals(Kind.UNAUTHENTICATED, kind(() -> require(grandchild.token(), "transit/keys/a", "encrypt")));
    require(orphan.token(), "transit/keys/a", "encrypt");
    assertTrue(storage.list(TokenStore.CHILDREN).isEmpty(), "no edge of the tree is left behind");
    clock.advance(Duration.ofHours(2));
    require(orphan.token(), "transit/keys/a", "encrypt");
  }

  @Test
  void noTokenIsMadeBelowARevokedOne() {
    Caller parent = tokens.resolve(tokens.create(List.of("enc"), Duration.ofHours(1), "").token());
    tokens.revoke(parent.accessor());
    assertEquals(Kind.UNAUTHENTICATED, kind(() -> tokens.create(List.of("enc"), Duration.ofMinutes(5), "", parent,
        java.util.Map.of())));
    assertEquals(1, storage.list("sys/tokens/").size(), "only the root token is stored");
  }

  @Test
  void revokingAChildAloneLeavesItsParentAndNoDanglingEdge() {
    Caller parent = tokens.resolve(tokens.create(List.of("enc"), Duration.ofHours(1), "").token());
    TokenStore.Issued child = tokens.create(List.of("enc"), Duration.ofMinutes(5), "", parent, java.util.Map.of());
    assertEquals(1, tokens.revoke(child.record().accessor()));
    assertTrue(storage.list(TokenStore.CHILDREN).isEmpty());
    assertEquals(1, tokens.revoke(parent.accessor()));
  }

  private static Kind kind(Runnable r) {
    return assertThrows(KeywardenException.class, r::run).kind();
  }

  static final class MutableClock extends Clock {
    private volatile Instant now = Instant.parse("2026-11-23T10:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void aTokenRecordDeletedBehindTheStoresBackIsRefusedAtOnce() {
    // as another server sharing the store would revoke it: straight in storage, not through this TokenStore
    TokenStore.Issued issued = tokens.create(List.of("enc"), Duration.ofHours(1), "app");
    require(issued.token(), "transit/keys/a", "encrypt"); // now cached
    String accessor = issued.record().accessor();
    assertTrue(storage.delete(TokenStore.PREFIX + accessor));
    assertEquals(Kind.UNAUTHENTICATED, kind(() -> require(issued.token(), "transit/keys/a", "encrypt")));
  }

  @Test
  void aPolicyChangedBehindTheStoresBackChangesGrantsAtOnce() {
    String t = tokens.create(List.of("enc"), Duration.ofHours(1), "app").token();
    require(t, "transit/keys/a", "encrypt"); // the policy is now cached
    storage.put(PolicyStore.PREFIX + "enc", Policy.parse("enc",
        "{\"rules\":[{\"resource\":\"transit/keys/b\",\"capabilities\":[\"encrypt\"]}]}",
        new Capabilities(List.of("encrypt"))).toJson().getBytes(StandardCharsets.UTF_8));
    assertEquals(Kind.PERMISSION_DENIED, kind(() -> require(t, "transit/keys/a", "encrypt")));
    assertEquals("app", require(t, "transit/keys/b", "encrypt").displayName());
    storage.delete(PolicyStore.PREFIX + "enc");
    assertEquals(Kind.PERMISSION_DENIED, kind(() -> require(t, "transit/keys/b", "encrypt")));
  }
}
