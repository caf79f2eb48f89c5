package dev.keywarden.server.gate;

import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoServiceDescriptorSupplier;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;

/** Calls any RPC of a service by its proto descriptor, with a request built from field names alone. */
final class WalkCalls {
  /** An accessor that names no token. */
  static final String SOME_ACCESSOR = "0123456789abcdef0123456789abcdef";

  private WalkCalls() {}

  static Descriptors.ServiceDescriptor proto(io.grpc.ServiceDescriptor service) {
    return ((ProtoServiceDescriptorSupplier) service.getSchemaDescriptor()).getServiceDescriptor();
  }

  /**
   * A request whose every singular string field holds a well-formed value ("a1" is a valid name, issuer id and role;
   * "161" a valid serial in hex (PKI) and decimal (SSH)), so a refusal is the gate's and not the name check's; "token" stays empty and "accessor" names another
   * token, so token lookups and revokes are about someone else's token.
   */
  static DynamicMessage request(Descriptors.MethodDescriptor method) {
    return filled(method.getInputType());
  }

  /** Keywarden's own messages inside the request (a role to write) are filled the same way. */
  private static DynamicMessage filled(Descriptors.Descriptor type) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(type);
    for (Descriptors.FieldDescriptor f : type.getFields()) {
      if (f.isRepeated() || f.getName().equals("token")) {
        continue;
      }
      if (f.getType() == Descriptors.FieldDescriptor.Type.STRING) {
        b.setField(f, f.getName().equals("accessor") ? SOME_ACCESSOR : f.getName().equals("serial") ? "161" : "a1");
      } else if (f.getType() == Descriptors.FieldDescriptor.Type.MESSAGE
          && f.getMessageType().getFile().getPackage().equals("keywarden.v1")) {
        b.setField(f, filled(f.getMessageType()));
      }
    }
    return b.build();
  }

  /** The status of one unary call (OK when it returned). */
  static Status call(Channel channel, Descriptors.MethodDescriptor method, DynamicMessage request,
      CallCredentials credentials) {
    MethodDescriptor<DynamicMessage, DynamicMessage> md = MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(method.getService().getFullName(),
            method.getName()))
        .setRequestMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(method.getInputType())))
        .setResponseMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(method.getOutputType())))
        .build();
    CallOptions options = credentials == null ? CallOptions.DEFAULT : CallOptions.DEFAULT.withCallCredentials(credentials);
    try {
      ClientCalls.blockingUnaryCall(channel, md, options, request);
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }
}
