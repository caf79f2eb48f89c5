package dev.keywarden.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import org.junit.jupiter.api.Test;

class KeywardenClientExceptionTest {
  @Test
  void aStatusWithoutDetailsHasAnEmptyReason() {
    StatusRuntimeException grpc = Status.PERMISSION_DENIED.withDescription("policies [p] do not grant decrypt")
        .asRuntimeException();
    KeywardenClientException e = KeywardenClientException.from(grpc);
    assertEquals(Status.Code.PERMISSION_DENIED, e.code());
    assertEquals("policies [p] do not grant decrypt", e.description());
    assertEquals("", e.reason());
    assertEquals("PERMISSION_DENIED: policies [p] do not grant decrypt", e.getMessage());
    assertSame(grpc, e.getCause());
  }

  @Test
  void theErrorInfoAmongTheDetailsGivesTheReason() {
    com.google.rpc.Status status = com.google.rpc.Status.newBuilder().setCode(Status.Code.FAILED_PRECONDITION.value())
        .setMessage("sealed")
        .addDetails(Any.pack(com.google.rpc.RetryInfo.getDefaultInstance()))
        .addDetails(Any.pack(ErrorInfo.newBuilder().setReason("SEALED").setDomain("keywarden.dev").build()))
        .build();
    KeywardenClientException e = KeywardenClientException.from(StatusProto.toStatusRuntimeException(status));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.code());
    assertEquals("SEALED", e.reason());
    assertEquals("keywarden.dev", e.domain());
    assertEquals("FAILED_PRECONDITION: sealed [SEALED]", e.getMessage());
  }

  @Test
  void anItemErrorMapsItsCodeName() {
    assertEquals(Status.Code.NOT_FOUND, KeywardenClientException.forItem("NOT_FOUND", "no key").code());
    KeywardenClientException odd = KeywardenClientException.forItem("TEAPOT", "short and stout");
    assertEquals(Status.Code.UNKNOWN, odd.code());
    assertEquals("TEAPOT: short and stout", odd.description());
  }
}
