package dev.keywarden.transit;

import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.software.SoftwareHsmProvider;

/** Transit over the dev-only software KEK. */
class SoftwareTransitEngineTest extends TransitEngineContract {
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
