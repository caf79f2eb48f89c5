package dev.keywarden.server.gate;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import java.util.Optional;
import javax.net.ssl.SSLSession;

/** What a call carries that may identify its caller: its headers and its transport (the TLS session). */
public record CallCredentials(Metadata headers, Attributes transport) {
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** The token of an `authorization: Bearer …` header, if there is one. */
  public Optional<String> bearer() {
    String value = headers.get(AUTHORIZATION);
    if (value != null && value.regionMatches(true, 0, "Bearer ", 0, 7)) {
      String token = value.substring(7).trim();
      return token.isEmpty() ? Optional.empty() : Optional.of(token);
    }
    return Optional.empty();
  }

  /** The TLS session the call came over, if it came over TLS. */
  public Optional<SSLSession> tlsSession() {
    return Optional.ofNullable(transport == null ? null : transport.get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
  }
}
