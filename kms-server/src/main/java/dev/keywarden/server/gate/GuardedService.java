package dev.keywarden.server.gate;

import io.grpc.BindableService;

/**
 * A gRPC service of Keywarden's: it declares its authorization table, and binds itself through the {@link Gate}:
 * {@code return gate.bind(XxxServiceGrpc.bindService(this), rules());}.
 */
public interface GuardedService extends BindableService {
  /** Method → what a caller needs; every RPC of the service has an entry. */
  ServiceRules rules();
}
