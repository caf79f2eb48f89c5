package dev.keywarden.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/** Lifts `authorization: Bearer <token>` into the call's Context; checking it is the service's job. */
public final class BearerTokenInterceptor implements ServerInterceptor {
  static final Context.Key<String> BEARER = Context.key("keywarden-bearer");
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** The bearer token of the current call, or "" when none was sent. */
  public static String current() {
    String token = BEARER.get();
    return token == null ? "" : token;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String value = headers.get(AUTHORIZATION);
    String token = "";
    if (value != null && value.regionMatches(true, 0, "Bearer ", 0, 7)) {
      token = value.substring(7).trim();
    }
    return Contexts.interceptCall(Context.current().withValue(BEARER, token), call, headers, next);
  }
}
