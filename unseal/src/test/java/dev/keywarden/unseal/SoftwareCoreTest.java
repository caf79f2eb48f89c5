package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.software.SoftwareHsmProvider;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import dev.keywarden.failure.KeywardenException.Kind;
import org.junit.jupiter.api.Test;

/** The seal state machine over the dev-only software KEK. */
class SoftwareCoreTest extends CoreContract {
  private final SoftwareHsmProvider provider = new SoftwareHsmProvider();

  @Override
  HsmProvider provider() {
    return provider;
  }

  @Override
  char[] pin() {
    return null;
  }

  /** Two cores on one store stand for two servers (a PKCS#11 token opens once per process, so software here). */
  @Test
  void sealAllSealsEveryCoreOnTheStoreAndOneUnsealedAfterwardsStays() throws Exception {
    InitResult init = init(1, 1);
    core.submitUnsealShare(init.shares().get(0));
    Core other = newCore(); // another server sharing the store
    try {
      other.submitUnsealShare(init.shares().get(0));
      assertFalse(other.isSealed());
      core.sealAll();
      assertTrue(core.isSealed());
      long t0 = System.nanoTime();
      while (!other.isSealed() && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2)) {
        Thread.sleep(10);
      }
      assertTrue(other.isSealed(), "the other server did not seal within 2 s");
      other.submitUnsealShare(init.shares().get(0));
      Thread.sleep(200);
      assertFalse(other.isSealed(), "an old seal-all sealed a server unsealed after it");
    } finally {
      other.shutdown();
    }
  }

  /** Servers of a cluster start together, and init is sent to one of them: the others must see it. */
  @Test
  void aServerStartedBeforeAnotherInitializedTheStoreUnsealsWithTheClusterShares() {
    Core other = newCore(); // started before init, on the same store
    try {
      assertFalse(other.status().initialized());
      InitResult init = init(2, 2);
      assertTrue(other.status().initialized(), "status reads the envelope another server wrote");
      other.submitUnsealShare(init.shares().get(0));
      other.submitUnsealShare(init.shares().get(1));
      assertFalse(other.isSealed());
    } finally {
      other.shutdown();
    }
  }

  @Test
  void aRekeyStartedOnOneServerTakesSharesOnAnotherAndEveryServerUnsealsWithTheNewSplit() {
    InitResult init = init(3, 2);
    unsealWith(init.shares().subList(0, 2));
    Core other = newCore();
    try {
      other.submitUnsealShare(init.shares().get(0));
      other.submitUnsealShare(init.shares().get(1));
      CeremonyStarted started = core.startRekey(4, 3, false);
      assertEquals(started.nonce(), other.status().rekeyNonce(), "the other server sees the rekey in progress");
      assertFalse(core.submitRekeyShare(started.nonce(), init.shares().get(2)).complete());
      assertEquals(Kind.FAILED_PRECONDITION, kindOf(() -> other.startRekey(2, 2, false)), "one rekey per cluster");
      CeremonyProgress done = other.submitRekeyShare(started.nonce(), init.shares().get(0));
      assertTrue(done.complete(), "the second share, sent to another server, completes the rekey");
      assertEquals("", core.status().rekeyNonce());
      assertEquals(3, core.status().threshold(), "the first server reads the new split");
      assertEquals(4, core.status().shares());
      core.seal();
      assertEquals(Kind.INVALID_ARGUMENT, kindOf(() -> core.submitUnsealShare(init.shares().get(0))),
          "old shares stop working on every server");
      unsealWith(done.shares().subList(1, 4));
      assertFalse(core.isSealed());
    } finally {
      other.shutdown();
    }
  }

  @Test
  void generateRootCollectsSharesOnSeveralServersAndMintsOnceWhereTheLastOneLands() {
    InitResult init = init(5, 3);
    unsealWith(init.shares().subList(0, 3));
    Core other = newCore();
    try {
      unsealOther(other, init.shares().subList(0, 3));
      CeremonyStarted started = other.startGenerateRoot();
      int[] minted = new int[1];
      assertFalse(core.submitGenerateRootShare(started.nonce(), init.shares().get(1), () -> "a" + ++minted[0])
          .complete());
      assertEquals(Kind.INVALID_ARGUMENT, kindOf(() -> other.submitGenerateRootShare(started.nonce(),
          tamper(init.shares().get(1)), () -> "x")), "a different share with a known index is refused");
      assertEquals(1, other.submitGenerateRootShare(started.nonce(), init.shares().get(1), () -> "b").progress(),
          "the same share twice counts once, across servers");
      assertFalse(other.submitGenerateRootShare(started.nonce(), init.shares().get(2), () -> "b" + ++minted[0])
          .complete());
      CeremonyProgress done = core.submitGenerateRootShare(started.nonce(), init.shares().get(3),
          () -> "a" + ++minted[0]);
      assertTrue(done.complete());
      assertEquals("a1", done.rootToken());
      assertEquals(1, minted[0]);
      assertEquals(Kind.FAILED_PRECONDITION, kindOf(() -> other.submitGenerateRootShare(started.nonce(),
          init.shares().get(4), () -> "x")), "the ceremony is over on every server");
    } finally {
      other.shutdown();
    }
  }

  @Test
  void aCeremonyCancelledOnOneServerIsGoneOnEveryOneAndSealAllCancelsIt() {
    InitResult init = init(3, 2);
    unsealWith(init.shares().subList(0, 2));
    Core other = newCore();
    try {
      unsealOther(other, init.shares().subList(0, 2));
      CeremonyStarted started = core.startRekey(3, 2, false);
      other.cancelRekey();
      assertEquals(Kind.FAILED_PRECONDITION, kindOf(() -> core.submitRekeyShare(started.nonce(),
          init.shares().get(0))));
      assertEquals(Kind.FAILED_PRECONDITION, kindOf(core::cancelRekey));
      core.startGenerateRoot();
      core.seal();
      assertFalse(other.status().generateRootNonce().isEmpty(), "sealing one server leaves the others its ceremony");
      other.sealAll();
      assertEquals("", core.status().generateRootNonce(), "seal --all cancels it");
    } finally {
      other.shutdown();
    }
  }

  @Test
  void concurrentLastSharesOnTwoServersCompleteTheRekeyExactlyOnce() throws Exception {
    InitResult init = init(3, 2);
    unsealWith(init.shares().subList(0, 2));
    Core other = newCore();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      unsealOther(other, init.shares().subList(0, 2));
      List<String> shares = init.shares();
      for (int round = 0; round < 5; round++) {
        CeremonyStarted started = core.startRekey(3, 2, false);
        String first = shares.get(0);
        String second = shares.get(1);
        Future<CeremonyProgress> a = pool.submit(() -> core.submitRekeyShare(started.nonce(), first));
        Future<CeremonyProgress> b = pool.submit(() -> other.submitRekeyShare(started.nonce(), second));
        int completed = (a.get().complete() ? 1 : 0) + (b.get().complete() ? 1 : 0);
        assertEquals(1, completed, "exactly one submission completes the rekey");
        shares = a.get().complete() ? a.get().shares() : b.get().shares();
        core.seal();
        unsealWith(shares.subList(0, 2));
      }
    } finally {
      pool.shutdownNow();
      other.shutdown();
    }
  }

  private static void unsealOther(Core other, List<String> shares) {
    for (String s : shares) {
      other.submitUnsealShare(s);
    }
    assertFalse(other.isSealed());
  }

  /** The same share index and set with other bytes (a valid checksum: re-encoded). */
  private static String tamper(String typed) {
    UnsealShare s = ShareCodec.decode(typed);
    byte[] v = s.value().clone();
    v[0] ^= 1;
    return ShareCodec.encode(new UnsealShare(s.shareSetId(), s.index(), s.threshold(), v));
  }
}
