package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.*;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.server.auth.AccessControl;
import dev.keywarden.server.auth.Caller;
import dev.keywarden.server.auth.TokenRecord;
import dev.keywarden.server.auth.TokenStore;
import dev.keywarden.server.gate.Check;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Map;

/**
 * gRPC TokenService. Resource `sys/tokens`: create, read, delete; a token may always look up and revoke itself.
 * Tokens form a tree: a token made by a token is its child, expires no later and is revoked with it, unless it is
 * made an orphan (which needs `create` on `sys/tokens/orphan`).
 */
@Singleton
public final class TokenGrpcService implements TokenServiceGrpc.AsyncService, GuardedService {
  static final Duration DEFAULT_TTL = Duration.ofHours(24);
  static final Duration MAX_TTL = Duration.ofHours(8760);
  private static final String RESOURCE = "sys/tokens";
  private final TokenStore tokens;
  private final AccessControl access;
  private final Gate gate;

  public TokenGrpcService(TokenStore tokens, AccessControl access, Gate gate) {
    this.tokens = tokens;
    this.access = access;
    this.gate = gate;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(TokenServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(TokenServiceGrpc.getServiceDescriptor())
        .checks(TokenServiceGrpc.getCreateTokenMethod(),
            Check.on(r -> RESOURCE, "create"),
            Check.when((r, c) -> r.getOrphan(), r -> RESOURCE + "/orphan", "create"))
        .checks(TokenServiceGrpc.getLookupTokenMethod(),
            Check.when((r, c) -> !self(r.getToken(), r.getAccessor(), c), r -> RESOURCE, "read"))
        .checks(TokenServiceGrpc.getRevokeTokenMethod(),
            Check.when((r, c) -> !self(r.getToken(), r.getAccessor(), c), r -> RESOURCE, "delete"))
        .build();
  }

  @Override
  public void createToken(CreateTokenRequest request, StreamObserver<CreateTokenResponse> out) {
    Caller caller = Gate.caller();
    Duration ttl = DEFAULT_TTL;
    if (request.hasTtl()) {
      if (!Durations.isValid(request.getTtl()) || Durations.toMillis(request.getTtl()) <= 0) {
        throw KeywardenException.invalid("ttl must be positive");
      }
      ttl = Duration.ofMillis(Durations.toMillis(request.getTtl()));
      if (ttl.compareTo(MAX_TTL) > 0) {
        throw KeywardenException.invalid("ttl " + ttl.toHours() + "h is longer than the maximum of 8760h");
      }
    }
    access.checkGrantable(caller, request.getPoliciesList());
    if (request.getDisplayName().length() > 256) {
      throw KeywardenException.invalid("display_name is longer than 256 characters");
    }
    TokenStore.Issued issued = tokens.create(request.getPoliciesList().stream().distinct().toList(), ttl,
        request.getDisplayName(), request.getOrphan() ? null : caller, Map.of());
    reply(out, CreateTokenResponse.newBuilder().setToken(issued.token()).setInfo(info(issued.record())).build());
  }

  @Override
  public void lookupToken(LookupTokenRequest request, StreamObserver<LookupTokenResponse> out) {
    String target = target(request.getToken(), request.getAccessor(), Gate.caller());
    reply(out, LookupTokenResponse.newBuilder().setInfo(info(tokens.byAccessor(target))).build());
  }

  @Override
  public void revokeToken(RevokeTokenRequest request, StreamObserver<RevokeTokenResponse> out) {
    String target = target(request.getToken(), request.getAccessor(), Gate.caller());
    int revoked = tokens.revoke(target);
    reply(out, RevokeTokenResponse.newBuilder().setRevoked(revoked).build());
  }

  /** Whether a lookup or revoke is about the caller's own token (which needs no capability). */
  private boolean self(String token, String accessor, Caller caller) {
    return !caller.accessor().isEmpty() && target(token, accessor, caller).equals(caller.accessor());
  }

  /** The accessor a lookup or revoke is about. */
  private String target(String token, String accessor, Caller caller) {
    if (!token.isEmpty() && !accessor.isEmpty()) {
      throw KeywardenException.invalid("give either token or accessor, not both");
    }
    return !token.isEmpty() ? tokens.accessorOf(token) : accessor.isEmpty() ? caller.accessor() : accessor;
  }

  static TokenInfo info(TokenRecord record) {
    TokenInfo.Builder info = TokenInfo.newBuilder().setAccessor(record.accessor())
        .addAllPolicies(record.policies()).setDisplayName(record.displayName() == null ? "" : record.displayName())
        .setCreateTime(timestamp(record.createTime()))
        .setParentAccessor(record.parent() == null ? "" : record.parent());
    if (record.metadata() != null) {
      info.putAllMetadata(record.metadata());
    }
    if (record.expireTime() != 0) {
      info.setExpireTime(timestamp(record.expireTime()));
    }
    return info.build();
  }

  private static Timestamp timestamp(long millis) {
    return Timestamp.newBuilder().setSeconds(Math.floorDiv(millis, 1000))
        .setNanos((int) Math.floorMod(millis, 1000) * 1_000_000).build();
  }
}
