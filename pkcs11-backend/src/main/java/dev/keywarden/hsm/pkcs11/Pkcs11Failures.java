package dev.keywarden.hsm.pkcs11;

import dev.keywarden.failure.KeywardenException;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.TokenException;

/** Turns what the PKCS#11 wrapper throws into failures an operator can act on. */
final class Pkcs11Failures {

  private Pkcs11Failures() {}

  /** The CKR_ name of the first PKCS#11 return code in the cause chain, or null when there is none. */
  static PKCS11Exception returnCode(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof PKCS11Exception p) {
        return p;
      }
    }
    return null;
  }

  /** The CKR_ name when there is one, else the failure's type: never a message, which may quote what was sent. */
  static String describe(Throwable failure) {
    PKCS11Exception p = returnCode(failure);
    return p != null ? name(p) : failure.getClass().getSimpleName();
  }

  static String name(PKCS11Exception e) {
    return PKCS11Constants.ckrCodeToName(e.getErrorCode());
  }

  static boolean hasCode(Throwable failure, long... codes) {
    PKCS11Exception p = returnCode(failure);
    if (p == null) {
      return false;
    }
    for (long code : codes) {
      if (p.getErrorCode() == code) {
        return true;
      }
    }
    return false;
  }

  /** UNAVAILABLE naming what was being done and the CKR_ code (or the wrapper's message when there is no code). */
  static KeywardenException unavailable(String doing, Throwable failure) {
    PKCS11Exception p = returnCode(failure);
    String why = p != null ? name(p) : String.valueOf(failure.getMessage());
    return KeywardenException.unavailable(doing + " failed: " + why, failure);
  }

  /** Maps a failure of C_Login for this token. */
  static KeywardenException login(String tokenLabel, TokenException failure) {
    PKCS11Exception p = returnCode(failure);
    if (p != null) {
      long code = p.getErrorCode();
      if (code == PKCS11Constants.CKR_PIN_INCORRECT || code == PKCS11Constants.CKR_PIN_INVALID
          || code == PKCS11Constants.CKR_PIN_LEN_RANGE || code == PKCS11Constants.CKR_PIN_EXPIRED) {
        return new KeywardenException(KeywardenException.Kind.UNAUTHENTICATED,
            "the HSM refused the PIN for token '" + tokenLabel + "' (" + name(p) + ")");
      }
      if (code == PKCS11Constants.CKR_PIN_LOCKED) {
        return KeywardenException.precondition("the user PIN of token '" + tokenLabel
            + "' is locked (CKR_PIN_LOCKED); the token's security officer must reset it");
      }
      if (code == PKCS11Constants.CKR_USER_PIN_NOT_INITIALIZED) {
        return KeywardenException.precondition("token '" + tokenLabel
            + "' has no user PIN yet (CKR_USER_PIN_NOT_INITIALIZED); initialize it first");
      }
    }
    return unavailable("logging in to token '" + tokenLabel + "'", failure);
  }
}
