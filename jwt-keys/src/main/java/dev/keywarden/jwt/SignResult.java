package dev.keywarden.jwt;

import dev.keywarden.failure.KeywardenException;
import java.util.Optional;

/** One item of a signing batch: the compact JWS, or why this item was refused. */
public record SignResult(Optional<String> token, Optional<SignError> error) {

  /** Why an item was refused (its claims broke the role's rules: INVALID_ARGUMENT). */
  public record SignError(KeywardenException.Kind kind, String message) {}

  static SignResult signed(String token) {
    return new SignResult(Optional.of(token), Optional.empty());
  }

  static SignResult refused(KeywardenException e) {
    return new SignResult(Optional.empty(), Optional.of(new SignError(e.kind(), e.getMessage())));
  }

  /** True when the item was signed. */
  public boolean ok() {
    return token.isPresent();
  }

  @Override
  public String toString() {
    return ok() ? "SignResult[signed]" : "SignResult[" + error.get() + "]";
  }
}
