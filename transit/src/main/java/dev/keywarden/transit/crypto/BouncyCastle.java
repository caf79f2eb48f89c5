package dev.keywarden.transit.crypto;

import java.security.Provider;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/** The one Bouncy Castle provider instance we pass explicitly, never registered globally. */
final class BouncyCastle {

  /** Built once: constructing the provider takes tens of milliseconds. */
  static final Provider PROVIDER = new BouncyCastleProvider();

  private BouncyCastle() {
  }
}
