package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.*;
import dev.keywarden.audit.AuditDeviceConfig;
import dev.keywarden.audit.AuditDeviceConfig.FsyncPolicy;
import dev.keywarden.audit.AuditDeviceInfo;
import dev.keywarden.audit.AuditLog;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * gRPC AuditService: the audit devices. Resource `sys/audit` (`create` to enable, `delete` to disable, `list`, `read`
 * for hashes and the public key, `update` to reopen); only root has it unless a policy grants it.
 */
@Singleton
public final class AuditGrpcService implements AuditServiceGrpc.AsyncService, GuardedService {
  static final String RESOURCE = "sys/audit";
  private final AuditLog audit;
  private final Gate gate;

  public AuditGrpcService(AuditLog audit, Gate gate) {
    this.audit = audit;
    this.gate = gate;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(AuditServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(AuditServiceGrpc.getServiceDescriptor())
        .allow(AuditServiceGrpc.getEnableAuditDeviceMethod(), r -> RESOURCE, "create")
        .allow(AuditServiceGrpc.getDisableAuditDeviceMethod(), r -> RESOURCE, "delete")
        .allow(AuditServiceGrpc.getListAuditDevicesMethod(), r -> RESOURCE, "list")
        .allow(AuditServiceGrpc.getHashAuditValueMethod(), r -> RESOURCE, "read")
        .allow(AuditServiceGrpc.getReopenAuditDevicesMethod(), r -> RESOURCE, "update")
        .allow(AuditServiceGrpc.getGetAuditPublicKeyMethod(), r -> RESOURCE, "read")
        .build();
  }

  @Override
  public void enableAuditDevice(EnableAuditDeviceRequest r, StreamObserver<EnableAuditDeviceResponse> out) {
    Duration timeout = AuditDeviceConfig.DEFAULT_TIMEOUT;
    if (r.hasTimeout()) {
      if (!Durations.isValid(r.getTimeout()) || Durations.toMillis(r.getTimeout()) <= 0) {
        throw KeywardenException.invalid("timeout must be positive");
      }
      timeout = Duration.ofMillis(Durations.toMillis(r.getTimeout()));
    }
    AuditDeviceConfig config = switch (r.getDeviceCase()) {
      case FILE -> {
        if (r.getFile().getPath().isEmpty()) {
          throw KeywardenException.invalid("file.path is missing: give the log file's absolute path");
        }
        AuditDeviceConfig file = AuditDeviceConfig.file(r.getName(), Path.of(r.getFile().getPath()),
            fsync(r.getFile().getFsync())).withTimeout(timeout);
        if (r.getFile().hasFsyncInterval()) {
          com.google.protobuf.Duration d = r.getFile().getFsyncInterval();
          if (!Durations.isValid(d) || d.getSeconds() < 0 || d.getSeconds() > 1) {
            throw KeywardenException.invalid("file.fsync_interval must be 0 to 100ms");
          }
          file = file.withFsyncInterval(Duration.ofNanos(Durations.toNanos(d)));
        }
        yield file;
      }
      case SOCKET -> AuditDeviceConfig.socket(r.getName(), r.getSocket().getAddress()).withTimeout(timeout);
      default -> throw KeywardenException.invalid("device is missing: a file or a socket");
    };
    reply(out, EnableAuditDeviceResponse.newBuilder().setDevice(device(audit.enable(config))).build());
  }

  @Override
  public void disableAuditDevice(DisableAuditDeviceRequest r, StreamObserver<DisableAuditDeviceResponse> out) {
    audit.disable(r.getName());
    reply(out, DisableAuditDeviceResponse.getDefaultInstance());
  }

  @Override
  public void listAuditDevices(ListAuditDevicesRequest r, StreamObserver<ListAuditDevicesResponse> out) {
    ListAuditDevicesResponse.Builder b = ListAuditDevicesResponse.newBuilder();
    audit.list().forEach(d -> b.addDevices(device(d)));
    reply(out, b.build());
  }

  @Override
  public void hashAuditValue(HashAuditValueRequest r, StreamObserver<HashAuditValueResponse> out) {
    byte[] value = r.getValue().toByteArray();
    try {
      reply(out, HashAuditValueResponse.newBuilder().setHmac(audit.hash(r.getDevice(), value)).build());
    } finally {
      Arrays.fill(value, (byte) 0);
    }
  }

  @Override
  public void reopenAuditDevices(ReopenAuditDevicesRequest r, StreamObserver<ReopenAuditDevicesResponse> out) {
    int n;
    if (r.getName().isEmpty()) {
      n = audit.reopenAll();
    } else {
      audit.reopen(r.getName());
      n = 1;
    }
    reply(out, ReopenAuditDevicesResponse.newBuilder().setReopened(n).build());
  }

  @Override
  public void getAuditPublicKey(GetAuditPublicKeyRequest r, StreamObserver<GetAuditPublicKeyResponse> out) {
    reply(out, GetAuditPublicKeyResponse.newBuilder().setPublicKeyPem(audit.publicKeyPem()).build());
  }

  private static FsyncPolicy fsync(AuditFsync f) {
    return switch (f) {
      case AUDIT_FSYNC_EVERY_RECORD -> FsyncPolicy.EVERY_RECORD;
      case AUDIT_FSYNC_BATCHED, AUDIT_FSYNC_UNSPECIFIED -> FsyncPolicy.BATCHED;
      default -> throw KeywardenException.invalid("fsync: batched or every-record");
    };
  }

  private static AuditDevice device(AuditDeviceInfo d) {
    AuditDeviceConfig c = d.config();
    AuditDevice.Builder b = AuditDevice.newBuilder().setName(c.name()).setType(c.type().wireName())
        .setTarget(c.target()).setTimeout(Durations.fromMillis(c.timeout().toMillis()))
        .setEnabledAt(Timestamp.newBuilder().setSeconds(d.enabledAt().getEpochSecond())
            .setNanos(d.enabledAt().getNano()))
        .setState(d.health().state().name()).setReason(d.health().reason());
    if (c.type() == AuditDeviceConfig.Type.FILE) {
      b.setFsync(c.fsync().wireName());
    }
    if (!c.fsyncInterval().isZero()) {
      b.setFsyncInterval(Durations.fromNanos(c.fsyncInterval().toNanos()));
    }
    return b.build();
  }
}
