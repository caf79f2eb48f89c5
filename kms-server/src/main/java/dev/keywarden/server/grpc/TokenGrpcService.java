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
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.time.Duration;

/** gRPC TokenService. Resource `sys/tokens`: create, read, delete; a token may always look up and revoke itself. */
@Singleton
public final class TokenGrpcService extends TokenServiceGrpc.TokenServiceImplBase {
  static final Duration DEFAULT_TTL = Duration.ofHours(24);
  static final Duration MAX_TTL = Duration.ofHours(8760);
  private static final String RESOURCE = "sys/tokens";
  private final TokenStore tokens;
  private final AccessControl access;

  public TokenGrpcService(TokenStore tokens, AccessControl access) {
    this.tokens = tokens;
    this.access = access;
  }

  @Override
  public void createToken(CreateTokenRequest request, StreamObserver<CreateTokenResponse> out) {
    Caller caller = access.require(BearerTokenInterceptor.current(), RESOURCE, "create");
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
        request.getDisplayName());
    reply(out, CreateTokenResponse.newBuilder().setToken(issued.token()).setInfo(info(issued.record())).build());
  }

  @Override
  public void lookupToken(LookupTokenRequest request, StreamObserver<LookupTokenResponse> out) {
    String target = targetAccessor(request.getToken(), request.getAccessor(), "read");
    reply(out, LookupTokenResponse.newBuilder().setInfo(info(tokens.byAccessor(target))).build());
  }

  @Override
  public void revokeToken(RevokeTokenRequest request, StreamObserver<RevokeTokenResponse> out) {
    String target = targetAccessor(request.getToken(), request.getAccessor(), "delete");
    tokens.revoke(target);
    reply(out, RevokeTokenResponse.getDefaultInstance());
  }

  /** The accessor a lookup or revoke is about; the caller's own needs no capability. */
  private String targetAccessor(String token, String accessor, String capability) {
    if (!token.isEmpty() && !accessor.isEmpty()) {
      throw KeywardenException.invalid("give either token or accessor, not both");
    }
    Caller caller = access.authenticate(BearerTokenInterceptor.current());
    String target = !token.isEmpty() ? tokens.accessorOf(token) : accessor.isEmpty() ? caller.accessor() : accessor;
    if (!target.equals(caller.accessor())) {
      access.require(BearerTokenInterceptor.current(), RESOURCE, capability);
    }
    return target;
  }

  static TokenInfo info(TokenRecord record) {
    TokenInfo.Builder info = TokenInfo.newBuilder().setAccessor(record.accessor())
        .addAllPolicies(record.policies()).setDisplayName(record.displayName() == null ? "" : record.displayName())
        .setCreateTime(timestamp(record.createTime()));
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
