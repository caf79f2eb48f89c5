package dev.keywarden.server.grpc;

import dev.keywarden.failure.KeywardenException;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place engine errors become gRPC statuses. A {@link KeywardenException} keeps its kind and message; anything
 * else is a bug of ours: logged with a reference, and the client gets INTERNAL with that reference and no stack trace.
 */
public final class ErrorMappingInterceptor implements ServerInterceptor {
  private static final Logger log = LoggerFactory.getLogger(ErrorMappingInterceptor.class);

  /** The gRPC code of a failure kind (also a batch item's code). */
  public static Status.Code code(KeywardenException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.Code.NOT_FOUND;
      case ALREADY_EXISTS -> Status.Code.ALREADY_EXISTS;
      case FAILED_PRECONDITION -> Status.Code.FAILED_PRECONDITION;
      case UNAUTHENTICATED -> Status.Code.UNAUTHENTICATED;
      case PERMISSION_DENIED -> Status.Code.PERMISSION_DENIED;
      case UNAVAILABLE -> Status.Code.UNAVAILABLE;
      case RESOURCE_EXHAUSTED -> Status.Code.RESOURCE_EXHAUSTED;
    };
  }

  /** The status a client sees for {@code error}. */
  public static Status toStatus(Throwable error) {
    if (error instanceof KeywardenException k) {
      return Status.fromCode(code(k.kind())).withDescription(k.getMessage());
    }
    if (error instanceof StatusRuntimeException s) {
      return s.getStatus();
    }
    String ref = UUID.randomUUID().toString().substring(0, 8);
    // Log the type and frames but not the message: a library's message can quote what it was given.
    log.error("internal error ref={} type={}", ref, error.getClass().getName(), scrubbed(error));
    return Status.INTERNAL.withDescription("internal error (server log reference " + ref + ")");
  }

  /** The domain of every ErrorInfo this server sends. */
  public static final String ERROR_DOMAIN = "keywarden.dev";

  /** Where gRPC carries a google.rpc.Status (the key grpc's StatusProto reads; every gRPC library knows it). */
  private static final Metadata.Key<com.google.rpc.Status> DETAILS = Metadata.Key.of("grpc-status-details-bin",
      io.grpc.protobuf.ProtoUtils.metadataMarshaller(com.google.rpc.Status.getDefaultInstance()));

  /**
   * The trailers that go with {@link #toStatus}: for a {@link KeywardenException}, a google.rpc.Status whose details
   * hold an ErrorInfo (reason such as KEY_NOT_FOUND or SEALED, domain {@value #ERROR_DOMAIN}), so clients branch on
   * data rather than message text, and, when one request field is to blame, a BadRequest whose field violation names
   * it (a proto field path such as {@code items[3].plaintext}); nothing for other errors.
   */
  public static Metadata trailers(Throwable error) {
    Metadata m = new Metadata();
    if (error instanceof KeywardenException k) {
      String message = k.getMessage() == null ? "" : k.getMessage();
      com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder().setCode(code(k.kind()).value())
          .setMessage(message)
          .addDetails(com.google.protobuf.Any.pack(com.google.rpc.ErrorInfo.newBuilder().setReason(k.reason())
              .setDomain(ERROR_DOMAIN).build()));
      if (k.field() != null) {
        status.addDetails(com.google.protobuf.Any.pack(com.google.rpc.BadRequest.newBuilder()
            .addFieldViolations(com.google.rpc.BadRequest.FieldViolation.newBuilder().setField(k.field())
                .setDescription(message))
            .build()));
      }
      m.put(DETAILS, status.build());
    }
    return m;
  }

  private static Throwable scrubbed(Throwable error) {
    Throwable copy = new Throwable(error.getClass().getName());
    copy.setStackTrace(error.getStackTrace());
    return copy;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    ServerCall.Listener<Q> delegate;
    try {
      delegate = next.startCall(call, headers);
    } catch (RuntimeException e) {
      call.close(toStatus(e), trailers(e));
      return new ServerCall.Listener<>() {};
    }
    return new SimpleForwardingServerCallListener<>(delegate) {
      @Override
      public void onMessage(Q message) {
        guard(() -> super.onMessage(message));
      }

      @Override
      public void onHalfClose() {
        guard(super::onHalfClose);
      }

      private void guard(Runnable step) {
        try {
          step.run();
        } catch (RuntimeException e) {
          call.close(toStatus(e), trailers(e));
        }
      }
    };
  }
}
