package dev.keywarden.server.wiring;

import static org.junit.jupiter.api.Assertions.*;

import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** A request grpc-java refuses in its transport is one log line, not a stack trace per request. */
class TransportWarningsTest {
  @Test
  void anOversizedMessageWarningReachesNoHandlerWithItsStackTrace() {
    TransportWarnings installed = new TransportWarnings();
    Logger stream = Logger.getLogger("io.grpc.netty.NettyServerStream");
    List<LogRecord> seen = new ArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord record) {
        seen.add(record);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    stream.addHandler(capture);
    try {
      // What NettyServerStream.TransportState.deframeFailed logs for a message over the inbound limit.
      stream.log(Level.WARNING, "Exception processing message", Status.RESOURCE_EXHAUSTED
          .withDescription("gRPC message exceeds maximum size 33554432: 35651607").asRuntimeException());
      stream.log(Level.INFO, "a plain line");
    } finally {
      stream.removeHandler(capture);
    }
    assertEquals(1, seen.size());
    assertNull(seen.get(0).getThrown());
    assertNotNull(installed);
  }
}
