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
  private final String field;

  public KeywardenException(Kind kind, String message) {
    this(kind, message, null, null, null);
  }

  public KeywardenException(Kind kind, String message, Throwable cause) {
    this(kind, message, cause, null, null);
  }

  private KeywardenException(Kind kind, String message, Throwable cause, String reason, String field) {
    super(message, cause);
    this.kind = kind;
    this.reason = reason;
    this.field = field;
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
    KeywardenException e = new KeywardenException(kind, getMessage(), getCause(), reason, field);
    e.setStackTrace(getStackTrace());
    return e;
  }

  /**
   * The request field this failure is about, as a proto field path ({@code name}, {@code items[3].plaintext},
   * {@code role.max_ttl}), sent as a google.rpc.BadRequest field violation; null when no one field is to blame.
   */
  public String field() {
    return field;
  }

  /** This failure blamed on a request field (a proto field path); see {@link #field()}. */
  public KeywardenException withField(String field) {
    if (field == null || !field.matches("[a-z][a-z0-9_]*(\\[[0-9]+])?(\\.[a-z][a-z0-9_]*(\\[[0-9]+])?)*")) {
      throw new IllegalArgumentException("a field path is proto field names, e.g. items[3].plaintext");
    }
    KeywardenException e = new KeywardenException(kind, getMessage(), getCause(), reason, field);
    e.setStackTrace(getStackTrace());
    return e;
  }

  /** INVALID_ARGUMENT blamed on one request field (a proto field path such as {@code role.max_ttl}). */
  public static KeywardenException invalidField(String field, String message) {
    return invalid(message).withField(field);
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
