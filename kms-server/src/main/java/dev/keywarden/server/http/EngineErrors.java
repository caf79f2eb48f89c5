package dev.keywarden.server.http;

import dev.keywarden.failure.KeywardenException;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;

/** The one mapping of engine errors to the public HTTP endpoints' answers: a status and the engine's message. */
final class EngineErrors {
  private EngineErrors() {}

  /** 404 for NOT_FOUND, 503 while sealed or unavailable, 403 for refusals, 400 for the rest (the caller's input). */
  static HttpStatus status(KeywardenException e) {
    return switch (e.kind()) {
      case NOT_FOUND -> HttpStatus.NOT_FOUND;
      case FAILED_PRECONDITION, UNAVAILABLE -> HttpStatus.SERVICE_UNAVAILABLE;
      case PERMISSION_DENIED, UNAUTHENTICATED -> HttpStatus.FORBIDDEN;
      default -> HttpStatus.BAD_REQUEST;
    };
  }

  /** The answer for {@code e}: its status and message as plain text. */
  static HttpResponse<?> response(KeywardenException e) {
    return response(status(e), e);
  }

  /** {@code e}'s message as plain text with {@code status}. */
  static HttpResponse<?> response(HttpStatus status, KeywardenException e) {
    return HttpResponse.status(status).body(e.getMessage() + "\n").contentType(MediaType.TEXT_PLAIN);
  }
}
