package dev.keywarden.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.testing.ReadRecordingStorage;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.InitResult;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Expired tokens go by the expiry index: tidy reads only them, in bounded transactions, and indexes old stores once. */
class TokenTidyTest {
  @TempDir Path dir;
  ReadRecordingStorage storage;
  Core core;
  TokenStore tokens;
  final TokenStoreTest.MutableClock clock = new TokenStoreTest.MutableClock();

  @BeforeEach
  void setUp() {
    storage = new ReadRecordingStorage(SqliteStorage.open(dir));
    SecureRandom random = new SecureRandom();
    core = new Core(storage, new SoftwareHsmProvider(), random, 100);
    tokens = new TokenStore(core, clock, random);
    InitResult init = core.initialize(1, 1, null, false, tokens::initialize);
    core.submitUnsealShare(init.shares().get(0));
  }

  @AfterEach
  void tearDown() {
    core.shutdown();
    storage.close();
  }

  @Test
  void tidyReadsOnlyExpiredTokensAndRemovesThemInBoundedBatches() {
    Set<String> expired = new HashSet<>();
    for (int i = 0; i < TokenStore.TIDY_BATCH + 120; i++) {
      expired.add(tokens.create(List.of("p"), Duration.ofMinutes(5), "short").record().accessor());
    }
    List<String> live = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      live.add(tokens.create(List.of("p"), Duration.ofHours(2), "long").token());
    }
    clock.advance(Duration.ofMinutes(10));
    storage.reads.clear();
    storage.transactionWrites.clear();

    TokenStore.Tidied t = tokens.tidy(clock.instant(), 1_000_000);

    assertEquals(expired.size(), t.removed());
    assertEquals(2, t.batches());
    assertFalse(t.more());
    for (String read : storage.reads) {
      assertFalse(read.equals(TokenStore.PREFIX) || read.equals("sys/") || read.isEmpty(), "tidy listed every token");
      if (read.startsWith(TokenStore.PREFIX)) {
        assertTrue(expired.contains(read.substring(TokenStore.PREFIX.length())), "tidy read a live token: " + read);
      }
    }
    assertTrue(storage.transactionWrites.stream().allMatch(n -> n <= 2 * TokenStore.TIDY_BATCH),
        "a transaction larger than a batch: " + storage.transactionWrites);
    for (String a : expired) {
      assertTrue(storage.get(TokenStore.PREFIX + a).isEmpty());
    }
    assertTrue(storage.list(TokenStore.EXPIRY).size() == live.size(), "only the live tokens stay indexed");
    for (String token : live) {
      tokens.resolve(token);
    }
  }

  @Test
  void tidyStopsAtItsLimitAndSaysMoreAreLeft() {
    for (int i = 0; i < 30; i++) {
      tokens.create(List.of("p"), Duration.ofMinutes(1), "short");
    }
    clock.advance(Duration.ofMinutes(2));
    TokenStore.Tidied first = tokens.tidy(clock.instant(), 20);
    assertEquals(20, first.removed());
    assertTrue(first.more());
    TokenStore.Tidied second = tokens.tidy(clock.instant(), 20);
    assertEquals(10, second.removed());
    assertFalse(second.more());
  }

  @Test
  void tokensOfAStoreWrittenBeforeTheIndexAreIndexedOnceAndTidied() {
    String kept = tokens.create(List.of("p"), Duration.ofHours(2), "long").token();
    String old = tokens.create(List.of("p"), Duration.ofMinutes(1), "short").record().accessor();
    String child = tokens.create(List.of("p"), Duration.ofMinutes(1), "child",
        new Caller("token", old, List.of("p"), "short", java.util.Map.of(), 0), java.util.Map.of()).record()
        .accessor();
    // as an earlier version left it: no index, no marker
    storage.list(TokenStore.EXPIRY).forEach(storage::delete);
    storage.delete(TokenStore.EXPIRY_INDEXED);
    clock.advance(Duration.ofMinutes(2));

    assertEquals(2, tokens.tidy(clock.instant(), 1000).removed());
    assertTrue(storage.get(TokenStore.EXPIRY_INDEXED).isPresent());
    assertTrue(storage.get(TokenStore.PREFIX + old).isEmpty());
    assertTrue(storage.get(TokenStore.PREFIX + child).isEmpty());
    assertTrue(storage.list(TokenStore.CHILDREN).isEmpty(), "the tree's edges went with the tokens");
    tokens.resolve(kept);
    storage.reads.clear();
    assertEquals(0, tokens.tidy(clock.instant(), 1000).removed());
    assertTrue(storage.reads.stream().noneMatch(r -> r.startsWith(TokenStore.PREFIX + "[")), "the index is built once");
  }

  @Test
  void anExpiredTokenIsRefusedBeforeTidyAndUnknownAfter() {
    String t = tokens.create(List.of("p"), Duration.ofMinutes(1), "short").token();
    clock.advance(Duration.ofMinutes(2));
    assertEquals("the token has expired", message(t));
    tokens.tidy(clock.instant(), 1000);
    assertEquals("the token is not valid (unknown or revoked)", message(t));
  }

  private String message(String token) {
    try {
      tokens.resolve(token);
      throw new AssertionError("resolved");
    } catch (KeywardenException e) {
      return e.getMessage();
    }
  }
}
