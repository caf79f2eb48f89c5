package dev.keywarden.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** The CLI says what to check when it cannot reach the server, and leaves the server's own messages alone. */
class ConnectionFailuresTest {

  @Test
  void aCallToAPortWithNoServerSaysTheServerCannotBeReached() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream saved = System.err;
    int exit;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      exit = KeywardenCommand.run(new String[] {"status", "--addr", "127.0.0.1:" + port});
    } finally {
      System.setErr(saved);
    }
    assertEquals(KeywardenCommand.EXIT_ERROR, exit);
    assertEquals("Error: cannot reach Keywarden at 127.0.0.1:" + port + ": is the server running? check"
        + " KEYWARDEN_ADDR (or --addr) (UNAVAILABLE)", cliLines(err));
  }

  /**
   * What the CLI wrote: without the lines Jazzer's agent writes to the same stderr when it instruments classes (it
   * is loaded in this test JVM when a fuzz test in the module has run first).
   */
  private static String cliLines(ByteArrayOutputStream err) {
    return err.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith("INFO: Instrumented"))
        .collect(java.util.stream.Collectors.joining("\n")).strip();
  }

  @Test
  void aFailedTlsHandshakeSaysSoAndNamesTheCaCertificateOption() {
    StatusRuntimeException e = Status.UNAVAILABLE.withDescription("io exception")
        .withCause(new RuntimeException(new SSLHandshakeException("PKIX path building failed"))).asRuntimeException();
    assertEquals("TLS handshake with Keywarden at kw.example:8400 failed (PKIX path building failed): check that"
        + " --ca-cert (or KEYWARDEN_CACERT) is the CA certificate that signed the server's certificate, that the"
        + " server was started with --tls-cert, and that its certificate names kw.example:8400",
        ConnectionFailures.describe(e, "kw.example:8400", true));
  }

  @Test
  void aPlaintextClientDroppedByATlsServerIsToldAboutTheCaCertificate() {
    StatusRuntimeException e = Status.UNAVAILABLE.withDescription("End of stream or IOException")
        .asRuntimeException();
    String message = ConnectionFailures.describe(e, "127.0.0.1:8400", false);
    assertTrue(message.startsWith("Keywarden at 127.0.0.1:8400 closed the connection: if the server uses TLS"),
        message);
    assertNull(ConnectionFailures.describe(e, "127.0.0.1:8400", true), "with TLS on, that hint would mislead");
  }

  @Test
  void statusesTheServerSentKeepTheServersMessage() {
    StatusRuntimeException e = Status.UNAVAILABLE.withDescription("storage error: committing failed: …")
        .asRuntimeException();
    assertNull(ConnectionFailures.describe(e, "127.0.0.1:8400", false));
    assertEquals("storage error: committing failed: … (UNAVAILABLE)", KeywardenCommand.describe(e));
    StatusRuntimeException sealed = Status.FAILED_PRECONDITION.withDescription("not initialized: run `keywarden"
        + " operator init` first").asRuntimeException();
    assertNull(ConnectionFailures.describe(sealed, "127.0.0.1:8400", false));
    assertFalse(KeywardenCommand.describe(sealed).contains("cannot reach"));
  }
}
