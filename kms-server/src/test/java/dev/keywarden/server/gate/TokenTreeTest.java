package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.*;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The token tree over the TokenService, as a client sees it: the probe's 1-hour token minting 1-year tokens. */
class TokenTreeTest {
  @TempDir
  Path dir;
  LocalKeywarden kw;

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
    kw.policies.write("minter", "{\"rules\":[{\"resource\":\"sys/tokens\",\"capabilities\":[\"create\"]}]}");
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  TokenServiceGrpc.TokenServiceBlockingStub as(String token) {
    return TokenServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(token));
  }

  @Test
  void aOneHourTokenCannotMintAOneYearTokenThatOutlivesItsRevocation() {
    String hour = kw.tokens.create(List.of("minter"), Duration.ofHours(1), "ci").token();
    CreateTokenResponse child = as(hour).createToken(CreateTokenRequest.newBuilder().addPolicies("minter")
        .setTtl(Durations.fromHours(8760)).build());
    long parentExpiry = kw.tokens.resolve(hour).expireTime();
    assertEquals(parentExpiry / 1000, child.getInfo().getExpireTime().getSeconds(), "capped at the parent's expiry");
    assertEquals(kw.tokens.resolve(hour).accessor(), child.getInfo().getParentAccessor());

    RevokeTokenResponse revoked = as(kw.rootToken).revokeToken(RevokeTokenRequest.newBuilder()
        .setAccessor(kw.tokens.resolve(hour).accessor()).build());
    assertEquals(2, revoked.getRevoked());
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> as(child.getToken()).lookupToken(LookupTokenRequest.getDefaultInstance()));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
  }

  @Test
  void anOrphanNeedsItsOwnGrantAndOutlivesItsCreator() {
    String hour = kw.tokens.create(List.of("minter"), Duration.ofHours(1), "ci").token();
    CreateTokenRequest orphan = CreateTokenRequest.newBuilder().addPolicies("minter").setOrphan(true)
        .setTtl(Durations.fromHours(48)).build();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> as(hour).createToken(orphan));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("sys/tokens/orphan"), e.getStatus().getDescription());

    kw.policies.write("orphan-maker", "{\"rules\":[{\"resource\":\"sys/tokens*\",\"capabilities\":[\"create\"]}]}");
    String maker = kw.tokens.create(List.of("minter", "orphan-maker"), Duration.ofHours(1), "").token();
    CreateTokenResponse made = as(maker).createToken(orphan);
    assertEquals("", made.getInfo().getParentAccessor());
    as(kw.rootToken).revokeToken(RevokeTokenRequest.newBuilder().setToken(maker).build());
    assertEquals(made.getInfo().getAccessor(),
        as(made.getToken()).lookupToken(LookupTokenRequest.getDefaultInstance()).getInfo().getAccessor());
  }
}
