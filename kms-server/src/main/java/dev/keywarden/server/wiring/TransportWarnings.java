package dev.keywarden.server.wiring;

import io.grpc.Status;
import java.util.logging.Filter;
import java.util.logging.Logger;
import org.slf4j.LoggerFactory;

/**
 * grpc-java logs a request it refuses in its transport (a message over the inbound limit) as a warning with a full
 * stack trace, once per request: a flood of oversized requests would flood the log. This turns each into one line.
 * The client already got the status (RESOURCE_EXHAUSTED, naming the limit).
 */
final class TransportWarnings {
  private static final org.slf4j.Logger log = LoggerFactory.getLogger(TransportWarnings.class);
  /** Held here: java.util.logging keeps loggers only weakly, and a collected logger loses its filter. */
  private final Logger stream = Logger.getLogger("io.grpc.netty.NettyServerStream");

  TransportWarnings() {
    Filter oneLine = record -> {
      if (record.getThrown() == null) {
        return true;
      }
      Status status = Status.fromThrowable(record.getThrown());
      log.warn("refused a request in the gRPC transport: {} {}", status.getCode(), status.getDescription());
      return false;
    };
    stream.setFilter(oneLine);
  }
}
