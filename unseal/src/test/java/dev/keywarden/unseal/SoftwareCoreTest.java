package dev.keywarden.unseal;

import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.software.SoftwareHsmProvider;

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
}
