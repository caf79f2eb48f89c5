package dev.keywarden.server.gate;

import dev.keywarden.server.auth.Caller;
import java.util.Optional;

/**
 * Turns one kind of credential (a bearer token, a client certificate, …) into a {@link Caller}. The gate asks each in
 * turn; the first that finds its kind of credential on the call decides.
 */
public interface Authenticator {
  /**
   * The caller these credentials stand for; empty when the call carries no credential of this kind. A credential of
   * this kind that is not valid (unknown, expired, revoked) throws UNAUTHENTICATED saying why.
   */
  Optional<Caller> authenticate(CallCredentials credentials);

  /** How a caller presents this credential, for the message a call with no credentials gets. */
  String howToPresent();
}
