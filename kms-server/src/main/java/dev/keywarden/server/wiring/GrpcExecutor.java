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
 *
 * <p>What the choice costs (issue #15, {@code GrpcEdgeBenchmark}, a bare echo server on each executor in the same
 * run, 2 shared cores): the hand-offs of every call to the executor and back are most of a cheap call's server CPU.
 * A cached pool hands each task to a parked thread, so every call wakes a thread twice (its start, its close): about
 * 5.5 context switches and 76 µs of server CPU per call in a closed loop, 6.6 and 149 µs at a steady open-loop rate.
 * A fixed pool of 4 (two per core) keeps its threads busy on a queue: 0.3 and 21 µs closed, 2.3 and 63 µs open. The
 * default stays the cached pool all the same, because Keywarden's calls block (a stored SignCsr waits for its group
 * commit, a network HSM answers in milliseconds) and a small fixed pool would cap the calls that wait together;
 * {@code --grpc-threads} (about two per core) is the setting for a server whose calls are CPU-bound, such as transit
 * on a local HSM.
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
