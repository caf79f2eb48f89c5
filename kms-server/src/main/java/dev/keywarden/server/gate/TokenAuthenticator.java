package dev.keywarden.server.gate;

import dev.keywarden.server.auth.Caller;
import dev.keywarden.server.auth.TokenStore;
import java.util.Optional;

/** `authorization: Bearer kwt_…`: a Keywarden token, made by `token create` or by a login. */
public final class TokenAuthenticator implements Authenticator {
  private final TokenStore tokens;

  public TokenAuthenticator(TokenStore tokens) {
    this.tokens = tokens;
  }

  @Override
  public Optional<Caller> authenticate(CallCredentials credentials) {
    return credentials.bearer().map(tokens::resolve);
  }

  @Override
  public String howToPresent() {
    return "send 'authorization: Bearer <token>' (CLI: KEYWARDEN_TOKEN or --token)";
  }
}
