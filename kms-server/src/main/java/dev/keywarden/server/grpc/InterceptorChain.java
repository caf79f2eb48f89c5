package dev.keywarden.server.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Singleton;

/**
 * Every RPC passes these, in this order: metrics (outermost, so it sees the final status of every call, errors
 * included), then error mapping. One chain, so the order is written here rather than implied. The request gate
 * (parsing, authentication, authorization) sits inside, on each Keywarden service: see {@link
 * dev.keywarden.server.gate.Gate}.
 */
@Singleton
public final class InterceptorChain implements ServerInterceptor {
  private final MetricsInterceptor metrics;
  private final ErrorMappingInterceptor errors = new ErrorMappingInterceptor();

  public InterceptorChain(MeterRegistry registry) {
    this.metrics = new MetricsInterceptor(registry);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    return metrics.interceptCall(call, headers,
        (c1, h1) -> errors.interceptCall(c1, h1, next));
  }
}
