package dev.keywarden.server.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import javax.net.ssl.SSLException;

/**
 * The client's own failures to reach the server ("io exception (UNAVAILABLE)" from gRPC), in words that say what to
 * check. Statuses the server sent are left alone: they carry the server's message.
 */
final class ConnectionFailures {
  private ConnectionFailures() {}

  /** What to tell the user about {@code e} on a call to {@code target}; null when the server itself answered. */
  static String describe(StatusRuntimeException e, String target, boolean tls) {
    Status.Code code = e.getStatus().getCode();
    String description = e.getStatus().getDescription() == null ? "" : e.getStatus().getDescription();
    if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
      for (Throwable c = e.getCause(); c != null && c.getCause() != c; c = c.getCause()) {
        if (c instanceof SSLException ssl) {
          return tlsFailed(target, ssl);
        }
        if (c instanceof ConnectException || c instanceof UnknownHostException
            || c instanceof NoRouteToHostException) {
          return cannotReach(target);
        }
      }
    }
    if (code == Status.Code.DEADLINE_EXCEEDED && description.contains("waiting_for_connection")) {
      return cannotReach(target);
    }
    if (code == Status.Code.UNAVAILABLE && e.getCause() == null && !tls
        && (description.startsWith("End of stream or IOException") || description.startsWith("Connection closed"))) {
      // a plaintext client talking to a TLS server sees the connection dropped without a reason (OkHttp's words)
      return "Keywarden at " + target + " closed the connection: if the server uses TLS, give its CA certificate"
          + " with --ca-cert (or KEYWARDEN_CACERT)";
    }
    return null;
  }

  private static String cannotReach(String target) {
    return "cannot reach Keywarden at " + target + ": is the server running? check KEYWARDEN_ADDR (or --addr)";
  }

  private static String tlsFailed(String target, SSLException ssl) {
    String reason = ssl.getMessage() == null ? ssl.getClass().getSimpleName() : ssl.getMessage();
    return "TLS handshake with Keywarden at " + target + " failed (" + reason + "): check that --ca-cert (or"
        + " KEYWARDEN_CACERT) is the CA certificate that signed the server's certificate, that the server was"
        + " started with --tls-cert, and that its certificate names " + target;
  }
}
