package dev.keywarden.server.wiring;

import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.InlineCalls;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerBuilder;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.micronaut.scheduling.TaskExecutors;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads gRPC calls run on. Calls that never wait on anything but the CPU in the common case (the unary calls
 * that change nothing and whose answer the audit log holds instead of blocking the thread: transit's
 * Encrypt/Decrypt/Rewrap/…, SignJwt, {@link Gate#ANSWER_HELD}) run on a small fixed pool, two threads per core; every
 * other call runs on Micronaut's IO executor, a cached pool that grows with the calls waiting, because those calls
 * block: storage writes wait for their group commit, PKCS#11 key generation, the audit log's request record.
 * {@code --grpc-threads N} puts every call on one fixed pool of N instead. Transit Encrypt and Decrypt run on the
 * Netty event loop that read them when nothing they need can wait, and go to the fixed pool when something may
 * ({@link InlineCalls}); no other call runs on an event loop.
 *
 * <p>Why two pools (issue #15, {@code GrpcEdgeBenchmark}, 2 cores, client in its own JVM, same run): the hand-offs of
 * each call to the executor and back are most of a cheap call's server CPU. A cached pool hands every task to a
 * parked thread, so each call wakes threads: 5.0 context switches and 45 µs of server CPU per echo call, closed loop,
 * 25,944 calls/s. A fixed pool of 4 keeps its threads busy on a queue: 0.3 and 15 µs, 63,415 calls/s; Encrypt went
 * from 19,790 to 37,572 calls/s (58 to 25 µs of server CPU per call). But one small pool for everything caps the
 * calls that wait together: stored SignCsr at 64 in flight fell from 3,278 to 2,012 certificates/s, as each group
 * commit could gather only 4. So the pool is only for the calls that do not wait. Their rare waits (a key's first use
 * reads and reserves nonces in storage; an {@code -hsm} key signs through PKCS#11) hold one of its threads for that
 * time, which the pool's size allows for.
 *
 * <p>grpc-java asks for a call's executor from a task it runs on the server's own executor. Were that Micronaut's IO
 * executor, every call would first go to a parked thread of that cached pool only to be handed on to the fixed pool:
 * two hand-offs instead of one, 1.7 context switches per Encrypt against the echo's 0.3. So the server's own executor
 * is the caller's thread (the event loop, for that short task: the method look-up and the choice of pool), and every
 * call is then handed once to the pool chosen for it, never run on the event loop.
 */
@Singleton
public final class GrpcExecutor implements BeanCreatedEventListener<ServerBuilder<?>> {
  /** Threads of the pool for calls that do not wait: two per core, at least 4. */
  public static final int FAST_THREADS = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

  private final ServerSettings settings;
  private final ExecutorService io;
  private final InlineCalls inline;
  private volatile ExecutorService pool;

  public GrpcExecutor(ServerSettings settings, @Named(TaskExecutors.IO) ExecutorService io, InlineCalls inline) {
    this.settings = settings;
    this.io = io;
    this.inline = inline;
  }

  @Override
  public ServerBuilder<?> onCreated(BeanCreatedEvent<ServerBuilder<?>> event) {
    ServerBuilder<?> builder = event.getBean();
    if (settings.grpcThreads() > 0) {
      pool = fixedPool(settings.grpcThreads(), "grpc-call-");
      builder.executor(pool);
    } else {
      ExecutorService fast = fixedPool(FAST_THREADS, "grpc-fast-");
      pool = fast;
      ExecutorService blocking = io;
      inline.handOverTo(fast);
      // the look-up that asks for the executor runs where the call arrived; the call itself never does: this
      // answers an executor for every call
      builder.executor(Runnable::run);
      builder.callExecutor(new ServerCallExecutorSupplier() {
        @Override
        public <ReqT, RespT> Executor getExecutor(ServerCall<ReqT, RespT> call, Metadata headers) {
          if (!runsOnFastPool(call.getMethodDescriptor())) {
            return blocking;
          }
          return inline.mayStartInline(call, headers) ? InlineCalls.ON_EVENT_LOOP : fast;
        }
      });
    }
    return builder;
  }

  /** Whether a call of {@code method} runs on the pool for calls that do not wait. */
  static boolean runsOnFastPool(MethodDescriptor<?, ?> method) {
    return method.getType() == MethodDescriptor.MethodType.UNARY
        && Gate.ANSWER_HELD.contains(method.getFullMethodName());
  }

  private static ExecutorService fixedPool(int threads, String prefix) {
    AtomicInteger n = new AtomicInteger();
    return Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** Stops the fixed pool once the server has stopped. */
  @PreDestroy
  public void close() {
    ExecutorService p = pool;
    if (p != null) {
      p.shutdown();
    }
  }
}
