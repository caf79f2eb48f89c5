package dev.keywarden.server.grpc;

import dev.keywarden.api.v1.*;
import dev.keywarden.hsm.HsmInfo;
import dev.keywarden.server.auth.AccessControl;
import dev.keywarden.server.auth.PolicyStore;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.config.Version;
import dev.keywarden.unseal.CeremonyProgress;
import dev.keywarden.unseal.CeremonyStarted;
import dev.keywarden.unseal.Core;
import dev.keywarden.unseal.CoreStatus;
import dev.keywarden.unseal.InitResult;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;

/** gRPC SystemService: status, init, unseal, seal, rekey, generate-root. */
@Singleton
public final class SystemGrpcService extends SystemServiceGrpc.SystemServiceImplBase {
  private final Core core;
  private final TokenStore tokens;
  private final PolicyStore policies;
  private final AccessControl access;
  private final HealthReporter health;

  public SystemGrpcService(Core core, TokenStore tokens, PolicyStore policies, AccessControl access,
      HealthReporter health) {
    this.core = core;
    this.tokens = tokens;
    this.policies = policies;
    this.access = access;
    this.health = health;
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
        .build());
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
    access.require(BearerTokenInterceptor.current(), "sys/seal", "update");
    core.seal(); // the token store drops its cache through a seal listener
    policies.clearCache();
    health.refresh();
    reply(out, SealResponse.getDefaultInstance());
  }

  @Override
  public void startRekey(StartRekeyRequest request, StreamObserver<StartRekeyResponse> out) {
    access.require(BearerTokenInterceptor.current(), "sys/rekey", "update");
    CeremonyStarted started = core.startRekey(request.getShares(), request.getThreshold(),
        request.getAllowSingleShareThreshold());
    reply(out, StartRekeyResponse.newBuilder().setNonce(started.nonce()).setRequired(started.required())
        .setNewShares(request.getShares()).setNewThreshold(request.getThreshold()).build());
  }

  @Override
  public void submitRekeyShare(SubmitRekeyShareRequest request, StreamObserver<SubmitRekeyShareResponse> out) {
    access.require(BearerTokenInterceptor.current(), "sys/rekey", "update");
    CeremonyProgress p = core.submitRekeyShare(request.getNonce(), request.getShare());
    reply(out, SubmitRekeyShareResponse.newBuilder().setComplete(p.complete()).setProgress(p.progress())
        .setRequired(p.required()).addAllShares(p.shares()).setThreshold(p.threshold()).build());
  }

  @Override
  public void cancelRekey(CancelRekeyRequest request, StreamObserver<CancelRekeyResponse> out) {
    access.require(BearerTokenInterceptor.current(), "sys/rekey", "update");
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
