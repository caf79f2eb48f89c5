package dev.keywarden.transit;

import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.pkcs11.Pkcs11HsmProvider;
import dev.keywarden.hsm.testing.SoftHsmToken;

/** Transit over a real SoftHSM2 token (KEK wrap/unwrap, and the -hsm type). */
class Pkcs11TransitEngineTest extends TransitEngineContract {
  private SoftHsmToken token;
  private Pkcs11HsmProvider provider;

  @Override
  HsmProvider provider() {
    if (provider == null) {
      token = SoftHsmToken.create();
      provider = token.provider(8);
    }
    return provider;
  }

  @Override
  char[] pin() {
    return token.pin();
  }
}
