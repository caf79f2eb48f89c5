package dev.keywarden.server.wiring;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.gate.InboundMessages;
import dev.keywarden.unseal.Core;
import io.micronaut.context.ApplicationContext;
import io.micronaut.inject.qualifiers.Qualifiers;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.BindException;
import java.util.HashMap;
import java.util.Map;

/** A running server: the Micronaut context with its gRPC and HTTP servers started. */
public final class ServerRuntime implements AutoCloseable {
  private final ApplicationContext context;
  private final EmbeddedServer grpc;
  private final EmbeddedServer http;
  private final TransportWarnings transportWarnings = new TransportWarnings();

  private ServerRuntime(ApplicationContext context, EmbeddedServer grpc, EmbeddedServer http) {
    this.context = context;
    this.grpc = grpc;
    this.http = http;
  }

  /**
   * Starts both servers; on failure nothing is left running and the error is ours (a {@link KeywardenException}
   * unwrapped from Micronaut's bean-creation wrapper, or a clear one for an address in use).
   */
  public static ServerRuntime start(ServerSettings settings) {
    try {
      return startContext(settings);
    } catch (RuntimeException e) {
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof KeywardenException k) {
          throw k;
        }
        if (c instanceof BindException) {
          throw KeywardenException.precondition("cannot listen on " + settings.grpcAddress() + " or "
              + settings.httpAddress() + ": " + c.getMessage());
        }
      }
      throw e;
    }
  }

  private static ServerRuntime startContext(ServerSettings settings) {
    Map<String, Object> props = new HashMap<>();
    props.put("micronaut.application.name", "keywarden");
    props.put("grpc.server.host", settings.grpcAddress().host());
    props.put("grpc.server.port", settings.grpcAddress().port());
    props.put("grpc.server.health.enabled", false);
    // Deliberate, and the same number the README gives: a batch of 10,000 items of 1 KiB, or the ciphertexts of
    // 16 MiB of plaintext, fit; what the gate refuses beyond it is RESOURCE_EXHAUSTED with the limit named.
    props.put("grpc.server.max-inbound-message-size", InboundMessages.MAX_MESSAGE_BYTES);
    props.put("micronaut.server.host", settings.httpAddress().host());
    props.put("micronaut.server.port", settings.httpAddress().port());
    // TLS (--tls-cert/--tls-key) is set on the Netty builder by GrpcTls, which can ask for client certificates.
    ApplicationContext context = ApplicationContext.builder()
        .properties(props)
        .singletons(settings)
        .deduceEnvironment(false)
        .banner(false)
        .start();
    try {
      context.getBean(Core.class); // opens storage now, so a bad data dir fails before anything listens
      context.getBean(EngineSchedules.class);
      EmbeddedServer grpc = context.getBean(EmbeddedServer.class, Qualifiers.byName("grpc.server"));
      grpc.start();
      EmbeddedServer http = context.getBean(EmbeddedServer.class);
      if (http == grpc) {
        throw new IllegalStateException("no HTTP server on the classpath");
      }
      http.start();
      return new ServerRuntime(context, grpc, http);
    } catch (RuntimeException e) {
      context.close();
      throw e;
    }
  }

  /** A bean of the running server (for dev-mode auto-unseal and tests). */
  public <T> T bean(Class<T> type) {
    return context.getBean(type);
  }

  /** A named bean of the running server (for benchmarks: the executor gRPC calls run on). */
  public <T> T bean(Class<T> type, String name) {
    return context.getBean(type, Qualifiers.byName(name));
  }

  public int grpcPort() {
    return grpc.getPort();
  }

  public int httpPort() {
    return http.getPort();
  }

  @Override
  public void close() {
    try {
      http.stop();
      grpc.stop();
    } finally {
      context.close();
    }
  }
}
