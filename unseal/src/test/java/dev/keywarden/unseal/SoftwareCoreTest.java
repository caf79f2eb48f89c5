package dev.keywarden.unseal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.software.SoftwareHsmProvider;
import java.util.concurrent.TimeUnit;
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
}
