package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.Descriptors;
import dev.keywarden.api.v1.AuthJwtProto;
import dev.keywarden.api.v1.AuthCertProto;
import dev.keywarden.api.v1.JwtProto;
import dev.keywarden.api.v1.PkiProto;
import dev.keywarden.api.v1.PolicyProto;
import dev.keywarden.api.v1.SshProto;
import dev.keywarden.api.v1.AuditProto;
import dev.keywarden.api.v1.SystemProto;
import dev.keywarden.api.v1.TokenProto;
import dev.keywarden.api.v1.TransitProto;
import dev.keywarden.server.auth.Capabilities;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gate, walked over every RPC in the protos: generated from the services' tables, so an RPC added tomorrow is
 * covered by these tests the day it lands (and fails the first one if it has no rule).
 */
class GateTest {
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

  /** Every service the protos declare, from the generated files. */
  static List<Descriptors.ServiceDescriptor> protoServices() {
    return Stream.of(SystemProto.getDescriptor(), TokenProto.getDescriptor(), PolicyProto.getDescriptor(),
            TransitProto.getDescriptor(), PkiProto.getDescriptor(), AuthCertProto.getDescriptor(),
            AuthJwtProto.getDescriptor(), SshProto.getDescriptor(), JwtProto.getDescriptor(),
            AuditProto.getDescriptor())
        .flatMap(f -> f.getServices().stream()).toList();
  }

  @Test
  void everyMethodWhoseAnswerIsHeldExistsAndIsUnary() {
    Map<String, Descriptors.MethodDescriptor> methods = new java.util.HashMap<>();
    protoServices().forEach(s -> s.getMethods().forEach(m -> methods.put(s.getFullName() + "/" + m.getName(), m)));
    for (String held : Gate.ANSWER_HELD) {
      Descriptors.MethodDescriptor m = methods.get(held);
      assertNotNull(m, held + " is not an RPC");
      assertFalse(m.isClientStreaming() || m.isServerStreaming(), held + " streams");
    }
  }

  @Test
  void grpcHealthReportsEveryService() {
    assertEquals(protoServices().stream().map(Descriptors.ServiceDescriptor::getFullName).sorted().toList(),
        dev.keywarden.server.grpc.HealthReporter.SERVICES.stream().sorted().toList());
  }

  @Test
  void everyRpcInTheProtosHasARuleInItsServicesTable() {
    Set<String> guarded = kw.services.stream().map(s -> s.rules().service().getName()).collect(Collectors.toSet());
    List<String> missing = new ArrayList<>();
    for (Descriptors.ServiceDescriptor s : protoServices()) {
      assertTrue(guarded.contains(s.getFullName()), s.getFullName() + " has no guarded service");
      ServiceRules rules = kw.services.stream().filter(g -> g.rules().service().getName().equals(s.getFullName()))
          .findFirst().orElseThrow().rules();
      for (Descriptors.MethodDescriptor m : s.getMethods()) {
        if (rules.rule(s.getFullName() + "/" + m.getName()) == null) {
          missing.add(s.getFullName() + "/" + m.getName());
        }
      }
    }
    assertEquals(List.of(), missing, "RPCs without an authorization rule");
  }

  @Test
  void aServiceWithAnRpcWithoutARuleDoesNotBind() {
    ServiceRules partial = ServiceRules.of(dev.keywarden.api.v1.PolicyServiceGrpc.getServiceDescriptor())
        .allow(dev.keywarden.api.v1.PolicyServiceGrpc.getListPoliciesMethod(), r -> "sys/policies", "list")
        .build();
    GuardedService policies = kw.services.stream().filter(s -> s.rules().service().getName().endsWith("PolicyService"))
        .findFirst().orElseThrow();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> kw.gate.bind(
        dev.keywarden.api.v1.PolicyServiceGrpc.bindService((dev.keywarden.api.v1.PolicyServiceGrpc.AsyncService) policies),
        partial));
    assertTrue(e.getMessage().contains("WritePolicy"), e.getMessage());
  }

  @Test
  void everyCapabilityATableNamesCanBeGrantedByAPolicy() {
    Set<String> named = new TreeSet<>();
    kw.services.forEach(s -> named.addAll(s.rules().capabilities()));
    assertTrue(named.containsAll(Set.of("encrypt", "decrypt", "sign", "issue", "revoke", "hmac")), named.toString());
    for (String c : named) {
      kw.policies.write("only-" + c, "{\"rules\":[{\"resource\":\"x\",\"capabilities\":[\"" + c + "\"]}]}");
    }
    // And a capability no table declares is refused, not silently accepted.
    Capabilities caps = new Capabilities(named);
    assertFalse(caps.isKnown("encrpyt"));
  }

  @Test
  void withNoCredentialsEveryGuardedRpcIsUnauthenticated() {
    Map<String, Status> got = walk(null);
    got.forEach((m, s) -> assertEquals(Status.Code.UNAUTHENTICATED, s.getCode(), m + ": " + s));
    assertTrue(got.size() > 40, "walked " + got.size() + " RPCs");
  }

  @Test
  void withATokenWhosePolicyGrantsNothingEveryGuardedRpcIsDenied() {
    kw.policies.write("nothing", "{\"rules\":[{\"resource\":\"nothing/here\",\"capabilities\":[\"read\"]}]}");
    String token = kw.tokens.create(List.of("nothing"), Duration.ofHours(1), "walker").token();
    Map<String, Status> got = walk(LocalKeywarden.bearer(token));
    got.forEach((m, s) -> {
      assertEquals(Status.Code.PERMISSION_DENIED, s.getCode(), m + ": " + s);
      assertTrue(s.getDescription().contains("[nothing]"), s.getDescription());
    });
  }

  @Test
  void whileSealedEveryGuardedRpcIsAPreconditionFailureEvenForRoot() {
    kw.core.seal();
    Map<String, Status> got = walk(LocalKeywarden.bearer(kw.rootToken));
    got.forEach((m, s) -> {
      assertEquals(Status.Code.FAILED_PRECONDITION, s.getCode(), m + ": " + s);
      assertTrue(s.getDescription().startsWith("sealed"), s.getDescription());
    });
  }

  @Test
  void theOpenRpcsAreExactlyTheCeremoniesStatusAndLogins() {
    List<String> open = new ArrayList<>();
    for (GuardedService s : kw.services) {
      for (io.grpc.MethodDescriptor<?, ?> m : s.rules().service().getMethods()) {
        if (s.rules().rule(m.getFullMethodName()).open()) {
          open.add(m.getBareMethodName());
        }
      }
    }
    assertEquals(new TreeSet<>(List.of("GetStatus", "Initialize", "Unseal", "StartGenerateRoot",
        "SubmitGenerateRootShare", "CancelGenerateRoot", "Login")), new TreeSet<>(open));
  }

  /** Calls every RPC that is not open with {@code credentials}; method → status. */
  private Map<String, Status> walk(io.grpc.CallCredentials credentials) {
    Map<String, Status> got = new java.util.TreeMap<>();
    for (Descriptors.ServiceDescriptor s : protoServices()) {
      ServiceRules rules = kw.services.stream().filter(g -> g.rules().service().getName().equals(s.getFullName()))
          .findFirst().orElseThrow().rules();
      for (Descriptors.MethodDescriptor m : s.getMethods()) {
        String full = s.getFullName() + "/" + m.getName();
        if (rules.rule(full).open()) {
          continue;
        }
        got.put(full, WalkCalls.call(kw.channel, m, WalkCalls.request(m), credentials));
      }
    }
    return got;
  }
}
