package dev.keywarden.server.wiring;

import dev.keywarden.server.config.ServerSettings;
import io.grpc.ServerBuilder;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads gRPC calls run on. By default micronaut-grpc hands them to Micronaut's IO executor, a cached pool that
 * grows with the calls waiting; {@code --grpc-threads N} puts them on a fixed pool of N instead. Either way a call's
 * handler runs off the Netty event loops, because handlers block: storage reads and the group commit, PKCS#11
 * signatures, the audit log. A fixed pool must be large enough for the calls that wait at once (a stored SignCsr
 * waits for its commit, and commits are shared by the calls waiting together), so its size is the operator's choice.
 */
@Singleton
public final class GrpcExecutor implements BeanCreatedEventListener<ServerBuilder<?>> {
  private final ServerSettings settings;
  private volatile ExecutorService pool;

  public GrpcExecutor(ServerSettings settings) {
    this.settings = settings;
  }

  @Override
  public ServerBuilder<?> onCreated(BeanCreatedEvent<ServerBuilder<?>> event) {
    ServerBuilder<?> builder = event.getBean();
    if (settings.grpcThreads() > 0) {
      AtomicInteger n = new AtomicInteger();
      pool = Executors.newFixedThreadPool(settings.grpcThreads(), r -> {
        Thread t = new Thread(r, "grpc-call-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      builder.executor(pool);
    }
    return builder;
  }

  /** Stops the fixed pool, if there is one, once the server has stopped. */
  @PreDestroy
  public void close() {
    ExecutorService p = pool;
    if (p != null) {
      p.shutdown();
    }
  }
}
