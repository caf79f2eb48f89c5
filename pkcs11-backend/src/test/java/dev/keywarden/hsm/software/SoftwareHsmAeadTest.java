package dev.keywarden.hsm.software;

import dev.keywarden.hsm.HsmAeadContract;
import dev.keywarden.hsm.HsmProvider;

class SoftwareHsmAeadTest extends HsmAeadContract {

  private final SoftwareHsmProvider provider = new SoftwareHsmProvider();
  private final char[] secret = provider.newPin();

  @Override
  protected HsmProvider newProvider() {
    return provider;
  }

  @Override
  protected char[] pin() {
    return secret.clone();
  }
}
