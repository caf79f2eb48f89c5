package dev.keywarden.server.wiring;

import dev.keywarden.audit.AuditLog;
import dev.keywarden.audit.AuditOptions;
import dev.keywarden.hsm.HsmProvider;
import dev.keywarden.hsm.pkcs11.Pkcs11HsmProvider;
import dev.keywarden.jwt.JwtEngine;
import dev.keywarden.hsm.software.SoftwareHsmProvider;
import dev.keywarden.pki.PkiEngine;
import dev.keywarden.server.auth.AccessControl;
import dev.keywarden.server.auth.Capabilities;
import dev.keywarden.server.auth.PolicyStore;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.auth.cert.CertAuthenticator;
import dev.keywarden.server.auth.cert.CertRoleRecords;
import dev.keywarden.server.auth.jwt.JwtAuth;
import dev.keywarden.server.auth.jwt.JwtRoleRecords;
import dev.keywarden.server.config.ServerSettings;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.InboundMessages;
import dev.keywarden.server.gate.InlineCalls;
import dev.keywarden.server.gate.TokenAuthenticator;
import dev.keywarden.storage.InitMarker;
import dev.keywarden.storage.PostgresStorage;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import dev.keywarden.ssh.SshEngine;
import dev.keywarden.transit.TransitEngine;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.PeriodicTasks;
import io.grpc.BindableService;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import jakarta.inject.Named;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/** Builds the plain-Java parts from {@link ServerSettings}; the only place that knows which implementations are used. */
@Factory
public class KeywardenFactory {
  static final int WORKING_KEY_CAPACITY = 10_000;

  @Singleton
  @Bean(preDestroy = "close")
  Storage storage(ServerSettings settings) {
    if (settings.postgres() != null) {
      return PostgresStorage.open(settings.postgres());
    }
    return SqliteStorage.open(settings.dataDir());
  }

  @Singleton
  HsmProvider hsmProvider(ServerSettings settings) {
    if (settings.pkcs11Library() != null) {
      return new Pkcs11HsmProvider(settings.pkcs11Library(), settings.pkcs11Token(), settings.pkcs11Sessions());
    }
    return new SoftwareHsmProvider();
  }

  @Singleton
  SecureRandom random() {
    return new SecureRandom();
  }

  @Singleton
  @Bean(preDestroy = "shutdown")
  Core core(Storage storage, HsmProvider hsm, SecureRandom random, ServerSettings settings) {
    // the marker in the data dir makes a start over a lost or emptied database fail instead of offering init;
    // PostgreSQL has no data dir here (its database is shared by every node and backed up by PostgreSQL's means)
    InitMarker marker = settings.dataDir() == null ? InitMarker.none() : InitMarker.in(settings.dataDir());
    return new Core(storage, hsm, random, WORKING_KEY_CAPACITY, marker);
  }

  @Singleton
  TokenStore tokenStore(Core core, SecureRandom random) {
    return new TokenStore(core, Clock.systemUTC(), random);
  }

  @Singleton
  JwtAuth jwtAuth(Core core, TokenStore tokens) {
    return new JwtAuth(new JwtRoleRecords(core.storage()), tokens, Clock.systemUTC());
  }

  @Singleton
  TransitEngine transitEngine(Core core, SecureRandom random) {
    return new TransitEngine(core, Clock.systemUTC(), random);
  }

  @Singleton
  @Bean(preDestroy = "close")
  PeriodicTasks periodicTasks(Core core) {
    return new PeriodicTasks(core);
  }

  @Singleton
  @Bean(preDestroy = "close")
  dev.keywarden.server.cluster.ClusterNodes clusterNodes(Core core, PeriodicTasks tasks, ServerSettings settings) {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = "keywarden";
    }
    return new dev.keywarden.server.cluster.ClusterNodes(core.storage(), Clock.systemUTC(),
        host + ":" + settings.grpcAddress().port(), settings.grpcAddress().host() + ":" + settings.grpcAddress().port(),
        dev.keywarden.server.config.Version.VALUE, core::isSealed, tasks::holdsLease);
  }

  @Singleton
  PkiEngine pkiEngine(Core core, SecureRandom random) {
    return new PkiEngine(core, Clock.systemUTC(), random);
  }

  @Singleton
  SshEngine sshEngine(Core core, SecureRandom random) {
    return new SshEngine(core, Clock.systemUTC(), random);
  }

  @Singleton
  JwtEngine jwtEngine(Core core, SecureRandom random) {
    return new JwtEngine(core, Clock.systemUTC(), random);
  }

  /** Read when the first policy is parsed, after every service has declared its table. */
  @Singleton
  PolicyStore policyStore(Storage storage, Provider<Capabilities> capabilities) {
    return new PolicyStore(storage, capabilities::get);
  }

  /** The generic capabilities and those every service's authorization table declares. */
  @Singleton
  Capabilities capabilities(List<GuardedService> services) {
    List<String> declared = new ArrayList<>();
    services.forEach(s -> declared.addAll(s.rules().capabilities()));
    return new Capabilities(declared);
  }

  @Singleton
  AccessControl accessControl(PolicyStore policies) {
    return new AccessControl(policies);
  }

  /** Requests may hold a quarter of the heap at once; past that, RESOURCE_EXHAUSTED rather than OutOfMemoryError. */
  @Singleton
  InboundMessages inboundMessages() {
    return new InboundMessages(Runtime.getRuntime().maxMemory() / 4);
  }

  @Singleton
  CertRoleRecords certRoleRecords(Storage storage) {
    return new CertRoleRecords(storage);
  }

  @Singleton
  CertAuthenticator certAuthenticator(Core core, CertRoleRecords roles, PkiEngine pki) {
    return new CertAuthenticator(core, roles, pki, Clock.systemUTC());
  }

  /** Which transit calls may run on the event loop that read them (see {@link GrpcExecutor}). */
  @Singleton
  InlineCalls inlineCalls(Core core, TokenStore tokens, PolicyStore policies, AuditLog audit, TransitEngine transit) {
    return new InlineCalls(core, tokens, policies, audit, transit, InlineCalls.enabledByProperty());
  }

  /** The ways a caller can authenticate, in the order they are tried: a bearer token wins over a certificate. */

  @Singleton
  Gate gate(Core core, TokenStore tokens, CertAuthenticator certs, AccessControl access, InboundMessages inbound,
      AuditLog audit) {
    return new Gate(core, List.of(new TokenAuthenticator(tokens), certs), access, inbound, audit);
  }

  /** The audit log: its devices open on every unseal; closed (final signed checkpoints) on shutdown. */
  @Singleton
  @Bean(preDestroy = "close")
  AuditLog auditLog(Core core, ServerSettings settings) {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = "keywarden";
    }
    return new AuditLog(core, AuditOptions.defaults(host + ":" + settings.grpcAddress().port()));
  }

  @Singleton
  PrometheusMeterRegistry meterRegistry(Core core) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Gauge.builder("keywarden.sealed", core, c -> c.isSealed() ? 1 : 0)
        .description("1 while sealed, 0 while unsealed").register(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    return registry;
  }

  @Singleton
  AuditMeters auditMeters(AuditLog audit, PrometheusMeterRegistry registry) {
    return new AuditMeters(audit, registry);
  }

  @Singleton
  HealthStatusManager healthStatusManager() {
    return new HealthStatusManager();
  }

  @Singleton
  @Named("health")
  BindableService healthService(HealthStatusManager health) {
    return health.getHealthService();
  }

  /** Server reflection as grpc.reflection.v1, which current tools (grpcurl, Postman, buf curl) ask first. */
  @Singleton
  @Named("reflection")
  BindableService reflectionService() {
    return ProtoReflectionServiceV1.newInstance();
  }

  /** The same reflection as the deprecated grpc.reflection.v1alpha, for older tools that know only that. */
  @Singleton
  @Named("reflection-v1alpha")
  @SuppressWarnings("deprecation")
  BindableService reflectionV1alphaService() {
    return ProtoReflectionService.newInstance();
  }
}
