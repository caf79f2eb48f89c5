package dev.keywarden.server.grpc;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/** Times every RPC by method and final status code (`keywarden_grpc_server_requests_seconds`). */
public final class MetricsInterceptor implements ServerInterceptor {
  private static final Status.Code[] CODES = Status.Code.values();

  private final MeterRegistry registry;
  /**
   * Each method's timers by status code, registered on first use: looking a timer up in the registry builds its id
   * and sorts its tags, which every call would otherwise pay. Nothing removes meters from this registry.
   */
  private final ConcurrentHashMap<String, AtomicReferenceArray<Timer>> timers = new ConcurrentHashMap<>();

  public MetricsInterceptor(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    AtomicReferenceArray<Timer> byCode = timers.get(method);
    if (byCode == null) {
      byCode = timers.computeIfAbsent(method, m -> new AtomicReferenceArray<>(CODES.length));
    }
    AtomicReferenceArray<Timer> codes = byCode;
    Timer.Sample sample = Timer.start(registry);
    return next.startCall(new SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        sample.stop(timer(method, codes, status.getCode()));
        super.close(status, trailers);
      }
    }, headers);
  }

  private Timer timer(String method, AtomicReferenceArray<Timer> byCode, Status.Code code) {
    Timer t = byCode.get(code.ordinal());
    if (t == null) {
      t = Timer.builder("keywarden.grpc.server.requests")
          .description("gRPC requests by method and status code")
          .tag("method", method).tag("code", code.name())
          .register(registry);
      byCode.set(code.ordinal(), t); // a race registers the same timer twice: the registry answers the same one
    }
    return t;
  }
}
