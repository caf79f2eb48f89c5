package dev.keywarden.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;

/**
 * Every failure of a Keywarden call: the gRPC status code, the server's message and, when the status carries a
 * {@code google.rpc.ErrorInfo}, its reason (and domain and metadata), which a caller can branch on.
 *
 * <p>The server sends an {@code ErrorInfo} with every call error (domain keywarden.dev; reasons such as KEY_NOT_FOUND,
 * SEALED, AUDIT_UNAVAILABLE, else the status code's name); {@link #reason()} is empty for failures that did not come
 * from the server (the transport, the deadline).
 * A failed batch item becomes one of these too (from the item's own code and message; it never has a reason).
 */
public class KeywardenClientException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;
  private final String description;
  private final String reason;
  private final String domain;
  private final Map<String, String> metadata;

  /** A failure with no ErrorInfo. */
  public KeywardenClientException(Status.Code code, String description) {
    this(code, description, "", "", Map.of(), null);
  }

  private KeywardenClientException(Status.Code code, String description, String reason, String domain,
      Map<String, String> metadata, Throwable cause) {
    super(message(code, description, reason), cause);
    this.code = code;
    this.description = description == null ? "" : description;
    this.reason = reason;
    this.domain = domain;
    this.metadata = Map.copyOf(metadata);
  }

  /** The exception for a failed call, with the ErrorInfo the status details carry, if any. */
  public static KeywardenClientException from(StatusRuntimeException e) {
    Status status = e.getStatus();
    ErrorInfo info = errorInfo(e);
    return new KeywardenClientException(status.getCode(), status.getDescription(),
        info == null ? "" : info.getReason(), info == null ? "" : info.getDomain(),
        info == null ? Map.of() : info.getMetadataMap(), e);
  }

  /**
   * The exception for a failed batch item; {@code codeName} is a {@code google.rpc.Code} name such as
   * "NOT_FOUND" (an unknown name becomes UNKNOWN, keeping the name in the message).
   */
  public static KeywardenClientException forItem(String codeName, String message) {
    Status.Code code;
    try {
      code = Status.Code.valueOf(codeName);
    } catch (IllegalArgumentException | NullPointerException e) {
      return new KeywardenClientException(Status.Code.UNKNOWN, codeName + ": " + message);
    }
    return new KeywardenClientException(code, message);
  }

  private static ErrorInfo errorInfo(StatusRuntimeException e) {
    com.google.rpc.Status details = StatusProto.fromThrowable(e);
    if (details == null) {
      return null;
    }
    for (Any any : details.getDetailsList()) {
      if (any.is(ErrorInfo.class)) {
        try {
          return any.unpack(ErrorInfo.class);
        } catch (InvalidProtocolBufferException ignored) {
          return null;
        }
      }
    }
    return null;
  }

  private static String message(Status.Code code, String description, String reason) {
    String text = code + (description == null || description.isEmpty() ? "" : ": " + description);
    return reason.isEmpty() ? text : text + " [" + reason + "]";
  }

  /** The gRPC status code (UNAVAILABLE, PERMISSION_DENIED, NOT_FOUND, …). */
  public Status.Code code() {
    return code;
  }

  /** The server's message (the status description), or "" when it sent none. */
  public String description() {
    return description;
  }

  /** The {@code ErrorInfo} reason, or "" when the status carried no ErrorInfo (today's server never sends one). */
  public String reason() {
    return reason;
  }

  /** The {@code ErrorInfo} domain, or "". */
  public String domain() {
    return domain;
  }

  /** The {@code ErrorInfo} metadata; empty without one. */
  public Map<String, String> metadata() {
    return metadata;
  }
}
