package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.ErrorInfo;
import dev.keywarden.api.v1.*;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Call errors carry a google.rpc.Status with an ErrorInfo whose reason a client branches on. */
class ErrorDetailsTest {
  @TempDir
  Path dir;
  LocalKeywarden kw;

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  private static ErrorInfo errorInfo(Status.Code code, Executable call) throws Exception {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
    com.google.rpc.Status details = StatusProto.fromThrowable(e);
    assertEquals(code.value(), details.getCode());
    ErrorInfo info = details.getDetails(0).unpack(ErrorInfo.class);
    for (int i = 1; i < details.getDetailsCount(); i++) {
      assertTrue(details.getDetails(i).is(com.google.rpc.BadRequest.class), "only a BadRequest beside: " + details);
    }
    assertEquals("keywarden.dev", info.getDomain());
    return info;
  }

  @Test
  void aMissingKeyASealedServerAndARefusalEachNameTheirReason() throws Exception {
    var transit = TransitServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    assertEquals("KEY_NOT_FOUND", errorInfo(Status.Code.NOT_FOUND,
        () -> transit.getKey(GetKeyRequest.newBuilder().setName("nope").build())).getReason());
    assertEquals("KEY_NOT_FOUND", errorInfo(Status.Code.NOT_FOUND, () -> transit.encrypt(EncryptRequest.newBuilder()
        .setName("nope").addItems(EncryptItem.newBuilder().setPlaintext(com.google.protobuf.ByteString.copyFromUtf8("x")))
        .build())).getReason(), "a batch for a key that does not exist fails the call, not each item");
    assertEquals("INVALID_ARGUMENT", errorInfo(Status.Code.INVALID_ARGUMENT,
        () -> transit.createKey(CreateKeyRequest.newBuilder().setName("bad name!").build())).getReason());

    String weak = kw.tokens.create(List.of("default"), java.time.Duration.ofHours(1), "weak").token();
    var denied = TransitServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(weak));
    assertEquals("PERMISSION_DENIED", errorInfo(Status.Code.PERMISSION_DENIED,
        () -> denied.getKey(GetKeyRequest.newBuilder().setName("k").build())).getReason());
    var anonymous = TransitServiceGrpc.newBlockingStub(kw.channel);
    assertEquals("UNAUTHENTICATED", errorInfo(Status.Code.UNAUTHENTICATED,
        () -> anonymous.getKey(GetKeyRequest.newBuilder().setName("k").build())).getReason());

    kw.core.seal();
    assertEquals("SEALED", errorInfo(Status.Code.FAILED_PRECONDITION,
        () -> transit.getKey(GetKeyRequest.newBuilder().setName("k").build())).getReason());
  }

  @Test
  void aFailedItemCarriesItsCodeAsANumberAndItsReason() {
    var transit = TransitServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    transit.createKey(CreateKeyRequest.newBuilder().setName("k").build());
    DecryptResponse r = transit.decrypt(DecryptRequest.newBuilder().setName("k")
        .addItems(DecryptItem.newBuilder().setCiphertext("kw:v1:bm90IGEgY2lwaGVydGV4dA==")).build());
    ItemError e = r.getResults(0).getError();
    assertEquals("INVALID_ARGUMENT", e.getCode());
    assertEquals(com.google.rpc.Code.INVALID_ARGUMENT_VALUE, e.getStatusCode());
    assertEquals("INVALID_ARGUMENT", e.getReason());
  }
}
