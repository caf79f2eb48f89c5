package dev.keywarden.failure;

/**
 * A failure the caller can act on. The message is shown to the client as it is, so it never holds a secret.
 * The server maps {@link Kind} to a gRPC status in one place.
 */
public class KeywardenException extends RuntimeException {

  /** What went wrong, in the terms of the gRPC status a client will see. */
  public enum Kind {
    INVALID_ARGUMENT,
    NOT_FOUND,
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    UNAUTHENTICATED,
    PERMISSION_DENIED,
    UNAVAILABLE,
    RESOURCE_EXHAUSTED
  }

  private final Kind kind;

  public KeywardenException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public KeywardenException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  public static KeywardenException invalid(String message) {
    return new KeywardenException(Kind.INVALID_ARGUMENT, message);
  }

  public static KeywardenException notFound(String message) {
    return new KeywardenException(Kind.NOT_FOUND, message);
  }

  public static KeywardenException alreadyExists(String message) {
    return new KeywardenException(Kind.ALREADY_EXISTS, message);
  }

  public static KeywardenException precondition(String message) {
    return new KeywardenException(Kind.FAILED_PRECONDITION, message);
  }

  public static KeywardenException unavailable(String message, Throwable cause) {
    return new KeywardenException(Kind.UNAVAILABLE, message, cause);
  }
}
