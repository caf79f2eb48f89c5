package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import dev.keywarden.api.v1.*;
import dev.keywarden.server.auth.AccessControl;
import dev.keywarden.server.auth.Policy;
import dev.keywarden.server.auth.PolicyStore;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;

/** gRPC PolicyService. Resource `sys/policies/NAME`; listing needs `list` on `sys/policies`. */
@Singleton
public final class PolicyGrpcService extends PolicyServiceGrpc.PolicyServiceImplBase {
  private final PolicyStore policies;
  private final AccessControl access;

  public PolicyGrpcService(PolicyStore policies, AccessControl access) {
    this.policies = policies;
    this.access = access;
  }

  @Override
  public void writePolicy(WritePolicyRequest request, StreamObserver<WritePolicyResponse> out) {
    access.authenticate(BearerTokenInterceptor.current());
    Policy.validateName(request.getName());
    access.require(BearerTokenInterceptor.current(), "sys/policies/" + request.getName(), "update");
    policies.write(request.getName(), request.getDocument());
    reply(out, WritePolicyResponse.getDefaultInstance());
  }

  @Override
  public void readPolicy(ReadPolicyRequest request, StreamObserver<ReadPolicyResponse> out) {
    access.authenticate(BearerTokenInterceptor.current());
    Policy.validateName(request.getName());
    access.require(BearerTokenInterceptor.current(), "sys/policies/" + request.getName(), "read");
    Policy policy = policies.read(request.getName());
    reply(out, ReadPolicyResponse.newBuilder().setName(policy.name()).setDocument(policy.toJson()).build());
  }

  @Override
  public void listPolicies(ListPoliciesRequest request, StreamObserver<ListPoliciesResponse> out) {
    access.require(BearerTokenInterceptor.current(), "sys/policies", "list");
    reply(out, ListPoliciesResponse.newBuilder().addAllNames(policies.list()).build());
  }

  @Override
  public void deletePolicy(DeletePolicyRequest request, StreamObserver<DeletePolicyResponse> out) {
    access.authenticate(BearerTokenInterceptor.current());
    Policy.validateName(request.getName());
    access.require(BearerTokenInterceptor.current(), "sys/policies/" + request.getName(), "delete");
    policies.delete(request.getName());
    reply(out, DeletePolicyResponse.getDefaultInstance());
  }
}
