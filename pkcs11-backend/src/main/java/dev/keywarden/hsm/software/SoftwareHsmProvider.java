package dev.keywarden.hsm.software;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmInfo;
import dev.keywarden.hsm.HsmKeyId;
import dev.keywarden.hsm.HsmProvider;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dev-only stand-in for an HSM: KEKs are derived in memory from a generated secret (the "PIN"). Nothing here is
 * protected by hardware; use it only on machines without SoftHSM2.
 */
public final class SoftwareHsmProvider implements HsmProvider {

  static final HsmInfo INFO = new HsmInfo("software", "software", "software");
  private static final Logger LOG = LoggerFactory.getLogger(SoftwareHsmProvider.class);
  private static final int SECRET_BYTES = 32;

  private final SecureRandom random = new SecureRandom();
  // Labels generated through this provider: the only "token" the software HSM has, so ALREADY_EXISTS can be told.
  private final Set<String> generatedLabels = ConcurrentHashMap.newKeySet();
  // AES keys generated through this provider, so destroying one frees its label and nothing else.
  private final Set<HsmKeyId> generatedKeys = ConcurrentHashMap.newKeySet();
  // AES keys destroyed through this provider: derived keys cannot be deleted, only refused from then on.
  private final Set<HsmKeyId> destroyedKeys = ConcurrentHashMap.newKeySet();

  /** A provider with no KEKs generated yet. */
  public SoftwareHsmProvider() {}

  @Override
  public HsmInfo describe() {
    return INFO;
  }

  @Override
  public boolean generatesOwnPin() {
    return true;
  }

  /** 43 characters: unpadded base64url of 32 random bytes. */
  @Override
  public char[] newPin() {
    byte[] secret = new byte[SECRET_BYTES];
    byte[] encoded = null;
    try {
      random.nextBytes(secret);
      encoded = Base64.getUrlEncoder().withoutPadding().encode(secret);
      char[] pin = new char[encoded.length];
      for (int i = 0; i < encoded.length; i++) {
        pin[i] = (char) encoded[i];
      }
      return pin;
    } finally {
      Arrays.fill(secret, (byte) 0);
      if (encoded != null) {
        Arrays.fill(encoded, (byte) 0);
      }
    }
  }

  @Override
  public Hsm open(char[] pin) {
    if (pin == null || pin.length == 0) {
      throw new KeywardenException(KeywardenException.Kind.UNAUTHENTICATED, "no secret given for the software HSM");
    }
    LOG.warn("SOFTWARE KEK IN USE — for development only; keys are not protected by an HSM");
    return new SoftwareHsm(utf8(pin), generatedLabels, generatedKeys, destroyedKeys);
  }

  private static byte[] utf8(char[] pin) {
    ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(pin));
    byte[] bytes = new byte[encoded.remaining()];
    encoded.get(bytes);
    // The encoder's buffer held the secret too.
    if (encoded.hasArray()) {
      Arrays.fill(encoded.array(), (byte) 0);
    }
    return bytes;
  }

  @Override
  public String toString() {
    return "SoftwareHsmProvider[dev-only]";
  }
}
