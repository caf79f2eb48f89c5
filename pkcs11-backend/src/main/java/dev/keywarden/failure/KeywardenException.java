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
  private final String reason;

  public KeywardenException(Kind kind, String message) {
    this(kind, message, null, null);
  }

  public KeywardenException(Kind kind, String message, Throwable cause) {
    this(kind, message, cause, null);
  }

  private KeywardenException(Kind kind, String message, Throwable cause, String reason) {
    super(message, cause);
    this.kind = kind;
    this.reason = reason;
  }

  public Kind kind() {
    return kind;
  }

  /**
   * A stable UPPER_SNAKE_CASE code clients branch on (sent as google.rpc.ErrorInfo's reason): the one given with
   * {@link #withReason}, else the kind's name.
   */
  public String reason() {
    return reason != null ? reason : kind.name();
  }

  /** This failure with a more specific {@link #reason()}, e.g. KEY_NOT_FOUND or SEALED. */
  public KeywardenException withReason(String reason) {
    if (reason == null || !reason.matches("[A-Z][A-Z0-9_]{0,62}")) {
      throw new IllegalArgumentException("a reason is UPPER_SNAKE_CASE");
    }
    KeywardenException e = new KeywardenException(kind, getMessage(), getCause(), reason);
    e.setStackTrace(getStackTrace());
    return e;
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
