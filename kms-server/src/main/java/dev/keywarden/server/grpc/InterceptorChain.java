package dev.keywarden.server.grpc;

import dev.keywarden.server.gate.InlineCalls;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Singleton;

/**
 * Every RPC passes these, in this order: the hand-over of a call that started on its event loop but must wait
 * ({@link InlineCalls}: outermost, so that every event of such a call, in order, moves with it), metrics (so it sees
 * the final status of every call, errors included), then error mapping. One chain, so the order is written here
 * rather than implied. The request gate (parsing, authentication, authorization) sits inside, on each Keywarden
 * service: see {@link dev.keywarden.server.gate.Gate}.
 */
@Singleton
public final class InterceptorChain implements ServerInterceptor {
  private final MetricsInterceptor metrics;
  private final ErrorMappingInterceptor errors = new ErrorMappingInterceptor();
  private final InlineCalls inline;

  public InterceptorChain(MeterRegistry registry, InlineCalls inline) {
    this.metrics = new MetricsInterceptor(registry);
    this.inline = inline;
    FunctionCounter.builder("keywarden.grpc.calls.inline", inline, InlineCalls::ranInline)
        .description("Encrypt and Decrypt calls run from start to end on the event loop that read them")
        .register(registry);
    FunctionCounter.builder("keywarden.grpc.calls.handed.over", inline, InlineCalls::handedOver)
        .description("Encrypt and Decrypt calls that started on their event loop and were handed to a pool")
        .register(registry);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    return inline.startCall(call, headers, (c0, h0) -> metrics.interceptCall(c0, h0,
        (c1, h1) -> errors.interceptCall(c1, h1, next)));
  }
}
