package dev.keywarden.server.http;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.jwt.JwtEngine;
import dev.keywarden.jwt.PublishedJwks;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Header;
import io.micronaut.http.annotation.PathVariable;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The JWT signing keys' public endpoints (no token: every verifier fetches them), under a key's issuer
 * {@code https://HOST/v1/jwt/NAME}: its JWK Set (pending, active and verify-only versions, so verifiers learn a
 * version before its first token) with {@code Cache-Control: max-age} of publish_ahead less the skew and a strong
 * ETag ({@code If-None-Match} gets 304), and its OpenID Connect discovery document.
 */
@Controller("/v1/jwt")
public class JwtController {
  private final JwtEngine jwt;

  public JwtController(JwtEngine jwt) {
    this.jwt = jwt;
  }

  /** The key's JWK Set. */
  @Get("/{name}/.well-known/jwks.json")
  public HttpResponse<?> jwks(@PathVariable String name,
      @Nullable @Header(HttpHeaders.IF_NONE_MATCH) String ifNoneMatch) {
    return respond(() -> {
      PublishedJwks p = jwt.jwks(name);
      String cache = "public, max-age=" + p.maxAge().getSeconds();
      if (ifNoneMatch != null && matches(ifNoneMatch, p.etag())) {
        return HttpResponse.notModified().header(HttpHeaders.ETAG, p.etag()).header(HttpHeaders.CACHE_CONTROL, cache);
      }
      return HttpResponse.ok(p.json().getBytes(StandardCharsets.UTF_8)).contentType(MediaType.APPLICATION_JSON_TYPE)
          .header(HttpHeaders.ETAG, p.etag()).header(HttpHeaders.CACHE_CONTROL, cache);
    });
  }

  /** The key's OpenID Connect discovery document: issuer, jwks_uri and the signing algorithm. */
  @Get("/{name}/.well-known/openid-configuration")
  public HttpResponse<?> openIdConfiguration(@PathVariable String name) {
    return respond(() -> HttpResponse.ok(jwt.openIdConfiguration(name).getBytes(StandardCharsets.UTF_8))
        .contentType(MediaType.APPLICATION_JSON_TYPE)
        .header(HttpHeaders.CACHE_CONTROL, "public, max-age=" + jwt.jwks(name).maxAge().getSeconds()));
  }

  /** If-None-Match: "*", or a list of entity tags of which one is ours (weak comparison, RFC 9110 13.1.2). */
  static boolean matches(String ifNoneMatch, String etag) {
    for (String tag : ifNoneMatch.split(",")) {
      String t = tag.strip();
      if (t.startsWith("W/")) {
        t = t.substring(2);
      }
      if (t.equals("*") || t.equals(etag)) {
        return true;
      }
    }
    return false;
  }

  /** Runs {@code body}; engine errors become the matching HTTP status with the engine's message. */
  private static HttpResponse<?> respond(Supplier<HttpResponse<?>> body) {
    try {
      return body.get();
    } catch (KeywardenException e) {
      return EngineErrors.response(e);
    }
  }
}
