package dev.keywarden.hsm.pkcs11;

import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.HsmSignerContract;
import dev.keywarden.hsm.testing.SoftHsmToken;

class Pkcs11HsmSignerTest extends HsmSignerContract {

  private SoftHsmToken token;

  @Override
  protected HsmProvider newProvider() {
    token = SoftHsmToken.create();
    return token.provider(4);
  }

  @Override
  protected char[] pin() {
    return token.pin();
  }
}
