package dev.keywarden.server.gate;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor.Marshaller;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Request parsing that never throws into grpc-java (where any exception becomes UNKNOWN "Application error") and that
 * counts the bytes of every request being served against one server-wide budget. The parsed form is one of the
 * {@link Inbound} records; the gate turns Malformed into INVALID_ARGUMENT and Refused into RESOURCE_EXHAUSTED before
 * any handler sees them.
 */
public final class InboundMessages {
  /** The largest request message the server reads (the gRPC inbound limit). */
  public static final int MAX_MESSAGE_BYTES = 32 << 20;

  private final long budget;
  private final AtomicLong inFlight = new AtomicLong();

  /** @param budget bytes of requests that may be in the server at once (parsed and being served) */
  public InboundMessages(long budget) {
    this.budget = budget;
  }

  /** What a request became: the message, or why not. */
  public sealed interface Inbound {}

  /** A parsed request holding {@code bytes} of the budget until its call ends. */
  public record Parsed(Object message, int bytes) implements Inbound {}

  /** Bytes that are not the request message the method takes. */
  public record Malformed(String reason) implements Inbound {}

  /** A request refused because the server already holds its budget of requests. */
  public record Refused(int bytes, long inFlight, long budget) implements Inbound {}

  /** A marshaller that parses with {@code original} into an {@link Inbound}. */
  public <Q> Marshaller<Object> lenient(Marshaller<Q> original, String messageName) {
    return new Marshaller<>() {
      @Override
      @SuppressWarnings("unchecked")
      public InputStream stream(Object value) {
        return original.stream((Q) value);
      }

      @Override
      public Object parse(InputStream stream) {
        InputStream in = stream;
        int size;
        try {
          if (stream instanceof KnownLength) {
            size = stream.available();
          } else {
            byte[] all = stream.readNBytes(MAX_MESSAGE_BYTES + 1);
            size = all.length;
            in = new ByteArrayInputStream(all);
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        long now = inFlight.addAndGet(size);
        if (now > budget && now != size) {
          inFlight.addAndGet(-size);
          return new Refused(size, now - size, budget);
        }
        try {
          return new Parsed(original.parse(in), size);
        } catch (RuntimeException e) {
          inFlight.addAndGet(-size);
          return new Malformed("the request is not a valid " + messageName + " message: " + reason(e));
        }
      }
    };
  }

  /** Gives back a parsed request's bytes when its call ends. */
  void release(Parsed parsed) {
    inFlight.addAndGet(-parsed.bytes());
  }

  /** Bytes of requests in the server now. */
  public long inFlight() {
    return inFlight.get();
  }

  private static String reason(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof InvalidProtocolBufferException p && p.getMessage() != null) {
        // protobuf's own words: what is wrong with the encoding (truncated, bad tag, invalid UTF-8), never the data.
        return p.getMessage();
      }
    }
    return "it cannot be parsed";
  }
}
