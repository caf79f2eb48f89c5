package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.ByteString;
import dev.keywarden.api.v1.EncryptItem;
import dev.keywarden.api.v1.EncryptRequest;
import io.grpc.MethodDescriptor.Marshaller;
import io.grpc.protobuf.ProtoUtils;
import org.junit.jupiter.api.Test;

/** The server-wide budget of request bytes: refused past it, given back when calls end, never lost on bad input. */
class InboundMessagesTest {
  final Marshaller<EncryptRequest> proto = ProtoUtils.marshaller(EncryptRequest.getDefaultInstance());

  EncryptRequest request(int bytes) {
    return EncryptRequest.newBuilder().setName("k")
        .addItems(EncryptItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[bytes]))).build();
  }

  @Test
  void requestsPastTheBudgetAreRefusedUntilEarlierOnesEnd() {
    InboundMessages inbound = new InboundMessages(10_000);
    Marshaller<Object> m = inbound.lenient(proto, "EncryptRequest");
    var first = assertInstanceOf(InboundMessages.Parsed.class, m.parse(proto.stream(request(6_000))));
    assertInstanceOf(InboundMessages.Refused.class, m.parse(proto.stream(request(6_000))));
    inbound.release(first);
    assertEquals(0, inbound.inFlight());
    var again = assertInstanceOf(InboundMessages.Parsed.class, m.parse(proto.stream(request(6_000))));
    assertEquals(request(6_000), again.message());
  }

  @Test
  void oneRequestLargerThanTheBudgetIsServedWhenNothingElseIs() {
    InboundMessages inbound = new InboundMessages(1_000);
    assertInstanceOf(InboundMessages.Parsed.class,
        inbound.lenient(proto, "EncryptRequest").parse(proto.stream(request(5_000))));
  }

  @Test
  void malformedBytesHoldNoBudget() {
    InboundMessages inbound = new InboundMessages(1_000);
    Object parsed = inbound.lenient(proto, "EncryptRequest")
        .parse(new java.io.ByteArrayInputStream(new byte[] {0x0a, 0x05, 'a'}));
    assertInstanceOf(InboundMessages.Malformed.class, parsed);
    assertEquals(0, inbound.inFlight());
  }
}
