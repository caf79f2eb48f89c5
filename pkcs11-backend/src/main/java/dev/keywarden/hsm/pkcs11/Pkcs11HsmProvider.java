package dev.keywarden.hsm.pkcs11;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.Hsm;
import dev.keywarden.hsm.HsmInfo;
import dev.keywarden.hsm.HsmProvider;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.Token;
import org.xipki.pkcs11.wrapper.TokenException;

/** Opens a token of a PKCS#11 library by its label and logs in as the user. Safe for concurrent use. */
public final class Pkcs11HsmProvider implements HsmProvider {

  private static final Logger LOG = LoggerFactory.getLogger(Pkcs11HsmProvider.class);
  private static final int MAX_LABELS_LISTED = 20;

  private final Path library;
  private final String tokenLabel;
  private final int sessionPoolSize;

  /**
   * @param library the PKCS#11 module (.so) to load
   * @param tokenLabel the CKA_LABEL of the token to use
   * @param sessionPoolSize how many sessions to keep open at most; bounds concurrent HSM operations
   */
  public Pkcs11HsmProvider(Path library, String tokenLabel, int sessionPoolSize) {
    WrapperLogging.install();
    this.library = Objects.requireNonNull(library, "library");
    if (tokenLabel == null || tokenLabel.isBlank()) {
      throw new IllegalArgumentException("token label is empty");
    }
    if (sessionPoolSize < 1) {
      throw new IllegalArgumentException("session pool size must be at least 1, got " + sessionPoolSize);
    }
    this.tokenLabel = tokenLabel;
    this.sessionPoolSize = sessionPoolSize;
  }

  @Override
  public HsmInfo describe() {
    return new HsmInfo("pkcs11", library.toString(), tokenLabel);
  }

  @Override
  public boolean generatesOwnPin() {
    return false;
  }

  @Override
  public synchronized Hsm open(char[] pin) {
    if (pin == null || pin.length == 0) {
      throw new KeywardenException(KeywardenException.Kind.UNAUTHENTICATED,
          "no PIN given for token '" + tokenLabel + "'");
    }
    Pkcs11Library loaded = Pkcs11Library.lease(library);
    // The wrapper keeps the PIN to log in again if the token forgets the login, and so does the connection to log in
    // after a reconnect; the connection zeroizes this copy on close.
    char[] pinCopy = pin.clone();
    try {
      return openIn(loaded, pinCopy);
    } catch (RuntimeException e) {
      Arrays.fill(pinCopy, '\0');
      loaded.release(); // outside the shared side of calls(): the last release finalizes and needs the exclusive one
      throw e;
    }
  }

  private Hsm openIn(Pkcs11Library loaded, char[] pinCopy) {
    Lock calls = loaded.calls();
    calls.lock();
    boolean claimed = false;
    try {
      long generation = loaded.generation();
      Token token = findToken(loaded);
      if (!loaded.claimToken(tokenLabel)) {
        throw KeywardenException.precondition("token '" + tokenLabel + "' is already open in this process");
      }
      claimed = true;
      PKCS11Token session;
      try {
        session = new PKCS11Token(token, false, pinCopy, sessionPoolSize);
      } catch (TokenException e) {
        throw Pkcs11Failures.login(tokenLabel, e);
      }
      boolean paddingDefect;
      try {
        paddingDefect = Pkcs11Kek.hasPaddingDefect(session);
      } catch (TokenException e) {
        session.closeAllSessions();
        throw Pkcs11Failures.unavailable("testing CKM_AES_KEY_WRAP_PAD on token '" + tokenLabel + "'", e);
      }
      if (paddingDefect) {
        LOG.warn("PKCS#11 library '{}' zero-pads keys in CKM_AES_KEY_WRAP_PAD instead of following RFC 5649 "
            + "(SoftHSM2 2.6 does); key material whose length is not a multiple of 8 is framed before wrapping",
            library);
      }
      Pkcs11Connection connection = new Pkcs11Connection(loaded, tokenLabel, session, generation, pinCopy,
          sessionPoolSize);
      return new Pkcs11Hsm(describe(), connection, paddingDefect, () -> {
        loaded.unclaimToken(tokenLabel);
        loaded.release();
      });
    } catch (RuntimeException e) {
      if (claimed) {
        loaded.unclaimToken(tokenLabel);
      }
      throw e;
    } finally {
      calls.unlock();
    }
  }

  private Token findToken(Pkcs11Library loaded) {
    List<String> present = new ArrayList<>();
    Token token = loaded.findToken(tokenLabel, present);
    if (token != null) {
      return token;
    }
    String listed = present.isEmpty() ? "none"
        : String.join(", ", present.subList(0, Math.min(present.size(), MAX_LABELS_LISTED)))
            + (present.size() > MAX_LABELS_LISTED ? " and " + (present.size() - MAX_LABELS_LISTED) + " more" : "");
    throw KeywardenException.precondition("PKCS#11 library '" + library + "' has no token labelled '" + tokenLabel
        + "'; tokens present: " + listed + ". A token created after the library was initialized is seen only "
        + "once every HSM session of this process has closed");
  }

  @Override
  public String toString() {
    return "Pkcs11HsmProvider[library=" + library + ", token=" + tokenLabel + ", sessions=" + sessionPoolSize + "]";
  }
}
