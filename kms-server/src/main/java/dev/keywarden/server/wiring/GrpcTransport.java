package dev.keywarden.server.wiring;

import io.grpc.ServerBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC server's socket transport: Java NIO, one acceptor thread and grpc-java's default of two event loops per
 * core, set here rather than left to grpc-java, which switches to Netty's native epoll whenever that jar is on the
 * class path (the benchmarks' is, for their load client). {@code -Dkeywarden.grpc.transport=auto} leaves the choice
 * to grpc-java, to compare the two.
 *
 * <p>Why not epoll (issue #15, {@code GrpcEdgeBenchmark}, 2 shared cores): a bare echo server on epoll and one on NIO,
 * in the same run, cost the same server CPU per call within the run's noise (closed loop 76–84 vs 77–79 µs, open
 * loop 89–149 vs 110–145 µs), and the same context switches (about 5.5 per call closed, 7 open). What does cost
 * is the hand-off of each call to the executor and back ({@link GrpcExecutor}), not the socket transport; a native
 * library per platform is not worth carrying for nothing measurable. Event loops and HTTP/2 flow control stay at
 * grpc-java's defaults for the same reason: a 1 KiB unary call never nears the 1 MiB window, and with 4 client
 * connections the loops are no more than the connections.
 */
@Singleton
public final class GrpcTransport implements BeanCreatedEventListener<ServerBuilder<?>> {
  /** {@code -Dkeywarden.grpc.transport=auto} lets grpc-java pick epoll when its native library loads. */
  public static final String PROPERTY = "keywarden.grpc.transport";

  private final List<EventLoopGroup> groups = new ArrayList<>();

  @Override
  public synchronized ServerBuilder<?> onCreated(BeanCreatedEvent<ServerBuilder<?>> event) {
    ServerBuilder<?> builder = event.getBean();
    if (builder instanceof NettyServerBuilder netty && !"auto".equalsIgnoreCase(System.getProperty(PROPERTY, ""))) {
      EventLoopGroup boss = new NioEventLoopGroup(1, new DefaultThreadFactory("grpc-nio-boss", true));
      EventLoopGroup workers = new NioEventLoopGroup(0, new DefaultThreadFactory("grpc-nio-worker", true));
      groups.add(boss);
      groups.add(workers);
      netty.channelType(NioServerSocketChannel.class).bossEventLoopGroup(boss).workerEventLoopGroup(workers);
    }
    return builder;
  }

  /** Stops the event loops this class made, once the server has stopped. */
  @PreDestroy
  public synchronized void close() {
    for (EventLoopGroup g : groups) {
      g.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
    groups.clear();
  }
}
