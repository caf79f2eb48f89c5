package dev.keywarden.server.grpc;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/** Times every RPC by method and final status code (`keywarden_grpc_server_requests_seconds`). */
public final class MetricsInterceptor implements ServerInterceptor {
  private final MeterRegistry registry;

  public MetricsInterceptor(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    Timer.Sample sample = Timer.start(registry);
    return next.startCall(new SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        sample.stop(Timer.builder("keywarden.grpc.server.requests")
            .description("gRPC requests by method and status code")
            .tag("method", method).tag("code", status.getCode().name())
            .register(registry));
        super.close(status, trailers);
      }
    }, headers);
  }
}
