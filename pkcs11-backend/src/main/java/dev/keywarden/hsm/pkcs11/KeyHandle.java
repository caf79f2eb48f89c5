package dev.keywarden.hsm.pkcs11;

import dev.keywarden.failure.KeywardenException;
import java.util.concurrent.locks.Lock;
import java.util.function.Supplier;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.PKCS11Token;
import org.xipki.pkcs11.wrapper.TokenException;

/**
 * The handle of one token object, found by its label and id and cached for one {@link Pkcs11Connection} generation.
 * Handles are only valid in the sessions of the library initialization that found them, so a reconnect (or a handle
 * the token refused while it still answers) starts a new generation and the object is searched for again.
 */
final class KeyHandle {

  private record Found(long generation, long handle) {}

  private final Lock searches;
  private final Supplier<AttributeVector> template;
  private final Supplier<KeywardenException> missing;
  private volatile Found found;

  /**
   * {@code template} matches the object; {@code missing} is thrown when the reachable token does not hold it; the
   * search holds {@code searches} (the read side of the token's object lock).
   */
  KeyHandle(Lock searches, Supplier<AttributeVector> template, Supplier<KeywardenException> missing) {
    this.searches = searches;
    this.template = template;
    this.missing = missing;
  }

  /**
   * The handle in this generation. An empty search is only called missing once the token proves it answers: an
   * absent SoftHSM2 token finds nothing without an error, and that must read as unreachable, never as a lost key.
   */
  long get(PKCS11Token token, long generation) throws TokenException {
    Found f = found;
    if (f != null && f.generation() == generation) {
      return f.handle();
    }
    long[] handles;
    searches.lock();
    try {
      handles = token.findObjects(template.get(), 2);
    } finally {
      searches.unlock();
    }
    if (handles.length == 0) {
      Pkcs11Connection.requireReachable(token);
      throw missing.get();
    }
    found = new Found(generation, handles[0]);
    return handles[0];
  }
}
