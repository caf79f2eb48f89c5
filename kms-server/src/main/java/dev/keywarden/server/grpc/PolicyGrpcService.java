package dev.keywarden.server.grpc;

import static dev.keywarden.server.grpc.SystemGrpcService.reply;

import dev.keywarden.api.v1.*;
import dev.keywarden.server.auth.Policy;
import dev.keywarden.server.auth.PolicyStore;
import dev.keywarden.server.gate.Gate;
import dev.keywarden.server.gate.GuardedService;
import dev.keywarden.server.gate.ServiceRules;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import jakarta.inject.Singleton;
import java.util.List;

/** gRPC PolicyService. Resource `sys/policies/NAME`; listing needs `list` on `sys/policies`. */
@Singleton
public final class PolicyGrpcService implements PolicyServiceGrpc.AsyncService, GuardedService {
  private final PolicyStore policies;
  private final Gate gate;

  public PolicyGrpcService(PolicyStore policies, Gate gate) {
    this.policies = policies;
    this.gate = gate;
  }

  @Override
  public ServerServiceDefinition bindService() {
    return gate.bind(PolicyServiceGrpc.bindService(this), rules());
  }

  @Override
  public ServiceRules rules() {
    return ServiceRules.of(PolicyServiceGrpc.getServiceDescriptor())
        .allow(PolicyServiceGrpc.getWritePolicyMethod(), r -> policy(r.getName()), "update")
        .allow(PolicyServiceGrpc.getReadPolicyMethod(), r -> policy(r.getName()), "read")
        .allow(PolicyServiceGrpc.getListPoliciesMethod(), r -> "sys/policies", "list")
        .allow(PolicyServiceGrpc.getDeletePolicyMethod(), r -> policy(r.getName()), "delete")
        .build();
  }

  private static String policy(String name) {
    Policy.validateName(name);
    return "sys/policies/" + name;
  }

  @Override
  public void writePolicy(WritePolicyRequest request, StreamObserver<WritePolicyResponse> out) {
    policies.write(request.getName(), request.getDocument());
    reply(out, WritePolicyResponse.getDefaultInstance());
  }

  @Override
  public void readPolicy(ReadPolicyRequest request, StreamObserver<ReadPolicyResponse> out) {
    Policy policy = policies.read(request.getName());
    reply(out, ReadPolicyResponse.newBuilder().setName(policy.name()).setDocument(policy.toJson()).build());
  }

  @Override
  public void listPolicies(ListPoliciesRequest request, StreamObserver<ListPoliciesResponse> out) {
    int limit = ListPages.limit(request.getLimit());
    List<String> page = policies.list(request.getAfter(), limit);
    reply(out, ListPoliciesResponse.newBuilder().addAllNames(page).setNextAfter(ListPages.nextAfter(page, limit))
        .build());
  }

  @Override
  public void deletePolicy(DeletePolicyRequest request, StreamObserver<DeletePolicyResponse> out) {
    policies.delete(request.getName());
    reply(out, DeletePolicyResponse.getDefaultInstance());
  }
}
