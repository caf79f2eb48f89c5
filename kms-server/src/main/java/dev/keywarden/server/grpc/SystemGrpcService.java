package dev.keywarden.server.grpc;

import dev.keywarden.api.v1.*;
import dev.keywarden.hsm.HsmInfo;
import dev.keywarden.server.auth.PolicyStore;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.Version;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import dev.keywarden.unseal.CeremonyProgress;
import dev.keywarden.unseal.CeremonyStarted;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.CoreStatus;
import dev.keywarden.unseal.InitResult;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;

/**
 * gRPC SystemService: status, init, unseal, seal, rekey, generate-root. The ceremonies that bring a server up (or mint
 * a root token from K shares) need no credentials: the shares are the credential.
 */
@Singleton
public final class SystemGrpcService implements SystemServiceGrpc.AsyncService, GuardedService {
  private final Core core;
  private final TokenStore tokens;
  private final PolicyStore policies;
  private final Gate gate;
  private final HealthReporter health;
  private final dev.keywarden.server.cluster.ClusterNodes cluster;

  /** Without cluster rows (tests that wire no heartbeat). */
  public SystemGrpcService(Core core, TokenStore tokens, PolicyStore policies, Gate gate, HealthReporter health) {
    this(core, tokens, policies, gate, health, null);
  }

  @jakarta.inject.Inject
  public SystemGrpcService(Core core, TokenStore tokens, PolicyStore policies, Gate gate, HealthReporter health,
      dev.keywarden.server.cluster.ClusterNodes cluster) {
    this.core = core;
    this.tokens = tokens;
    this.policies = policies;
    this.gate = gate;
    this.health = health;
    this.cluster = cluster;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(SystemServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(SystemServiceGrpc.getServiceDescriptor())
        .open(SystemServiceGrpc.getGetStatusMethod())
        .open(SystemServiceGrpc.getInitializeMethod())
        .open(SystemServiceGrpc.getUnsealMethod())
        .allow(SystemServiceGrpc.getSealMethod(), r -> "sys/seal", "update")
        .allow(SystemServiceGrpc.getStartRekeyMethod(), r -> "sys/rekey", "update")
        .allow(SystemServiceGrpc.getSubmitRekeyShareMethod(), r -> "sys/rekey", "update")
        .allow(SystemServiceGrpc.getCancelRekeyMethod(), r -> "sys/rekey", "update")
        .open(SystemServiceGrpc.getStartGenerateRootMethod())
        .open(SystemServiceGrpc.getSubmitGenerateRootShareMethod())
        .open(SystemServiceGrpc.getCancelGenerateRootMethod())
        .build();
  }

  @Override
  public void getStatus(GetStatusRequest request, StreamObserver<GetStatusResponse> out) {
    CoreStatus s = core.status();
    HsmInfo hsm = s.hsm();
    reply(out, GetStatusResponse.newBuilder()
        .setInitialized(s.initialized()).setSealed(s.sealed())
        .setThreshold(s.threshold()).setShares(s.shares()).setUnsealProgress(s.unsealProgress())
        .setHsmKind(hsm.kind()).setHsmLibrary(hsm.library()).setHsmToken(hsm.tokenLabel())
        .setKekLabel(s.kekLabel()).setStorageKind(s.storageKind()).setVersion(Version.VALUE)
        .setRekeyNonce(s.rekeyNonce()).setGenerateRootNonce(s.generateRootNonce())
        .addAllNodes(nodes())
        .build());
  }

  private java.util.List<ClusterNode> nodes() {
    if (cluster == null) {
      return java.util.List.of();
    }
    try {
      return cluster.nodes().stream().map(n -> ClusterNode.newBuilder().setNode(n.node()).setAddress(n.address())
          .setVersion(n.version()).setSealed(n.sealed()).setHoldsLease(n.holdsLease())
          .setLastHeartbeat(com.google.protobuf.util.Timestamps.fromMillis(n.heartbeatMillis()))
          .setStale(cluster.stale(n)).setThisNode(n.node().equals(cluster.node())).build()).toList();
    } catch (dev.keywarden.failure.KeywardenException storageDown) {
      return java.util.List.of(); // status answers without the rows rather than fail
    }
  }

  @Override
  public void initialize(InitializeRequest request, StreamObserver<InitializeResponse> out) {
    char[] pin = request.getHsmPin().toCharArray();
    InitResult result = core.initialize(request.getShares(), request.getThreshold(), pin,
        request.getAllowSingleShareThreshold(), tokens::initialize);
    reply(out, InitializeResponse.newBuilder().addAllShares(result.shares()).setRootToken(result.rootToken())
        .setThreshold(result.threshold()).setKekLabel(result.kekLabel()).build());
  }

  @Override
  public void unseal(UnsealRequest request, StreamObserver<UnsealResponse> out) {
    CeremonyProgress p = request.getReset() ? core.resetUnseal() : core.submitUnsealShare(request.getShare());
    health.refresh();
    reply(out, UnsealResponse.newBuilder().setSealed(!p.complete()).setProgress(p.progress())
        .setThreshold(p.required()).build());
  }

  @Override
  public void seal(SealRequest request, StreamObserver<SealResponse> out) {
    if (request.getAll()) {
      core.sealAll(); // this one at once, the others as they hear it
    } else {
      core.seal(); // the token store drops its cache through a seal listener
    }
    policies.clearCache();
    health.refresh();
    reply(out, SealResponse.getDefaultInstance());
  }

  @Override
  public void startRekey(StartRekeyRequest request, StreamObserver<StartRekeyResponse> out) {
    CeremonyStarted started = core.startRekey(request.getShares(), request.getThreshold(),
        request.getAllowSingleShareThreshold());
    reply(out, StartRekeyResponse.newBuilder().setNonce(started.nonce()).setRequired(started.required())
        .setNewShares(request.getShares()).setNewThreshold(request.getThreshold()).build());
  }

  @Override
  public void submitRekeyShare(SubmitRekeyShareRequest request, StreamObserver<SubmitRekeyShareResponse> out) {
    CeremonyProgress p = core.submitRekeyShare(request.getNonce(), request.getShare());
    reply(out, SubmitRekeyShareResponse.newBuilder().setComplete(p.complete()).setProgress(p.progress())
        .setRequired(p.required()).addAllShares(p.shares()).setThreshold(p.threshold()).build());
  }

  @Override
  public void cancelRekey(CancelRekeyRequest request, StreamObserver<CancelRekeyResponse> out) {
    core.cancelRekey();
    reply(out, CancelRekeyResponse.getDefaultInstance());
  }

  @Override
  public void startGenerateRoot(StartGenerateRootRequest request, StreamObserver<StartGenerateRootResponse> out) {
    CeremonyStarted started = core.startGenerateRoot();
    reply(out, StartGenerateRootResponse.newBuilder().setNonce(started.nonce()).setRequired(started.required())
        .build());
  }

  @Override
  public void submitGenerateRootShare(SubmitGenerateRootShareRequest request,
      StreamObserver<SubmitGenerateRootShareResponse> out) {
    CeremonyProgress p = core.submitGenerateRootShare(request.getNonce(), request.getShare(), tokens::mintRoot);
    reply(out, SubmitGenerateRootShareResponse.newBuilder().setComplete(p.complete()).setProgress(p.progress())
        .setRequired(p.required()).setRootToken(p.rootToken()).build());
  }

  @Override
  public void cancelGenerateRoot(CancelGenerateRootRequest request, StreamObserver<CancelGenerateRootResponse> out) {
    core.cancelGenerateRoot();
    reply(out, CancelGenerateRootResponse.getDefaultInstance());
  }

  static <T> void reply(StreamObserver<T> out, T response) {
    out.onNext(response);
    out.onCompleted();
  }
}
