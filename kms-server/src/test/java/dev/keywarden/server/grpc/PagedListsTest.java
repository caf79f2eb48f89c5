package dev.keywarden.server.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.BadRequest;
import dev.keywarden.api.v1.CreateKeyRequest;
import dev.keywarden.api.v1.CreateSshCaRequest;
import dev.keywarden.api.v1.IssueSshKeyRequest;
import dev.keywarden.api.v1.ListKeysRequest;
import dev.keywarden.api.v1.ListKeysResponse;
import dev.keywarden.api.v1.ListSshCertificatesRequest;
import dev.keywarden.api.v1.ListSshCertificatesResponse;
import dev.keywarden.api.v1.ListPoliciesRequest;
import dev.keywarden.api.v1.ListPoliciesResponse;
import dev.keywarden.api.v1.ListRevokedRequest;
import dev.keywarden.api.v1.ListRevokedResponse;
import dev.keywarden.api.v1.ListRolesRequest;
import dev.keywarden.api.v1.ListRolesResponse;
import dev.keywarden.api.v1.ListSshRolesRequest;
import dev.keywarden.api.v1.ListSshRolesResponse;
import dev.keywarden.api.v1.PkiRole;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.PolicyServiceGrpc;
import dev.keywarden.api.v1.Revocation;
import dev.keywarden.api.v1.SshCertType;
import dev.keywarden.api.v1.SshRole;
import dev.keywarden.api.v1.SshServiceGrpc;
import dev.keywarden.api.v1.TransitServiceGrpc;
import dev.keywarden.api.v1.WriteRoleRequest;
import dev.keywarden.api.v1.WriteSshRoleRequest;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.pki.RequestedNames;
import dev.keywarden.pki.Role;
import dev.keywarden.server.gate.LocalKeywarden;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoMethodDescriptorSupplier;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The List RPCs answer in bounded pages (limit, after, next_after) that add up to everything stored, as
 * ListCertificates does; their limits and cursors are checked and a refusal names its field. Every List RPC is paged
 * unless it is listed in {@link #UNPAGED} with why its list stays small.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PagedListsTest {
  @TempDir
  static Path dir;
  LocalKeywarden kw;
  SshServiceGrpc.SshServiceBlockingStub ssh;
  TransitServiceGrpc.TransitServiceBlockingStub transit;
  PkiServiceGrpc.PkiServiceBlockingStub pki;

  @BeforeAll
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
    ssh = SshServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    transit = TransitServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    pki = PkiServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
  }

  @AfterAll
  void stop() throws Exception {
    kw.close();
  }

  /** A page: its entries and next_after. */
  private record Page(List<String> entries, String nextAfter) {}

  /** Reads every page of {@code limit} from the start; returns the page sizes and adds the entries to {@code all}. */
  private static List<Integer> readAll(BiFunction<Integer, String, Page> list, int limit, List<String> all) {
    List<Integer> sizes = new ArrayList<>();
    String after = "";
    do {
      Page page = list.apply(limit, after);
      sizes.add(page.entries().size());
      all.addAll(page.entries());
      after = page.nextAfter();
    } while (!after.isEmpty());
    return sizes;
  }

  @Test
  void sshCertificatePagesAddUpToEveryStoredSerial() {
    ssh.createSshCa(CreateSshCaRequest.newBuilder().setName("users").build());
    ssh.writeSshRole(WriteSshRoleRequest.newBuilder().setRole(SshRole.newBuilder().setName("dev").setCa("users")
        .setCertType(SshCertType.SSH_CERT_TYPE_USER).addAllowedPrincipals("alice")).build());
    List<String> issued = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      issued.add(ssh.issueSshKey(IssueSshKeyRequest.newBuilder().setRole("dev").addPrincipals("alice").build())
          .getCertificate().getSerial());
    }
    BiFunction<Integer, String, Page> list = (limit, after) -> {
      ListSshCertificatesResponse r = ssh.listSshCertificates(ListSshCertificatesRequest.newBuilder().setLimit(limit)
          .setAfter(after).build());
      return new Page(r.getSerialsList(), r.getNextAfter());
    };
    List<String> all = new ArrayList<>();
    assertEquals(List.of(3, 3, 1), readAll(list, 3, all));
    assertEquals(issued.stream().sorted().toList(), all);
    assertEquals(7, ssh.listSshCertificates(ListSshCertificatesRequest.getDefaultInstance()).getSerialsCount());
    // a page that ends exactly at the last serial says so with the next (empty) page, never with a missing one
    assertEquals(List.of(7, 0), readAll(list, 7, new ArrayList<>()));

    ListSshCertificatesResponse beyond = ssh.listSshCertificates(ListSshCertificatesRequest.newBuilder()
        .setAfter("99999999999999999999").build());
    assertEquals(0, beyond.getSerialsCount());
    assertEquals("", beyond.getNextAfter());
    assertEquals("limit", violatedField(() -> ssh.listSshCertificates(ListSshCertificatesRequest.newBuilder()
        .setLimit(ListPages.MAX + 1).build())));
    assertEquals("limit", violatedField(() -> ssh.listSshCertificates(ListSshCertificatesRequest.newBuilder()
        .setLimit(-1).build())));
    assertEquals("after", violatedField(() -> ssh.listSshCertificates(ListSshCertificatesRequest.newBuilder()
        .setAfter("../x").build())));
  }

  @Test
  void transitKeyPagesAddUpToEveryKey() {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      names.add("page-key-" + i);
      transit.createKey(CreateKeyRequest.newBuilder().setName("page-key-" + i).build());
    }
    BiFunction<Integer, String, Page> list = (limit, after) -> {
      ListKeysResponse r = transit.listKeys(ListKeysRequest.newBuilder().setLimit(limit).setAfter(after).build());
      return new Page(r.getNamesList(), r.getNextAfter());
    };
    List<String> all = new ArrayList<>();
    List<Integer> sizes = readAll(list, 2, all);
    assertTrue(all.containsAll(names), all.toString());
    assertEquals(all.stream().sorted().toList(), all);
    assertEquals(all.size(), sizes.stream().mapToInt(Integer::intValue).sum());
    assertTrue(sizes.size() >= 3 && sizes.stream().allMatch(s -> s <= 2), sizes.toString());
    assertEquals(all, transit.listKeys(ListKeysRequest.getDefaultInstance()).getNamesList());

    ListKeysResponse beyond = transit.listKeys(ListKeysRequest.newBuilder().setAfter("zzzz").build());
    assertEquals(0, beyond.getNamesCount());
    assertEquals("", beyond.getNextAfter());
    assertEquals(List.of("page-key-3", "page-key-4"), transit.listKeys(ListKeysRequest.newBuilder()
        .setAfter("page-key-2").build()).getNamesList().stream().filter(n -> n.startsWith("page-key-")).toList());
    assertEquals("limit", violatedField(() -> transit.listKeys(ListKeysRequest.newBuilder()
        .setLimit(ListPages.MAX + 1).build())));
    assertEquals("after", violatedField(() -> transit.listKeys(ListKeysRequest.newBuilder().setAfter("no/such")
        .build())));
  }

  /**
   * The List RPCs that answer in one piece, each with why its list stays small; every other List RPC has a limit (and
   * so a page), so a new List RPC that returns everything at once fails here until it is paged or listed.
   */
  static final Map<String, String> UNPAGED = Map.of(
      "keywarden.v1.SshService/ListSshCas", "CAs are made by operators, each an HSM key pair; rotated, never piled up",
      "keywarden.v1.PkiService/ListIssuers", "issuers are made by operators, each an HSM key pair",
      "keywarden.v1.AuditService/ListAuditDevices", "audit devices: a few sinks configured by operators");

  @Test
  void everyListRpcIsPagedOrSaysWhyNot() {
    List<String> unpaged = new ArrayList<>();
    for (ServerServiceDefinition service : kw.server.getServices()) {
      for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
        MethodDescriptor<?, ?> md = m.getMethodDescriptor();
        if (!(md.getSchemaDescriptor() instanceof ProtoMethodDescriptorSupplier s)
            || !md.getBareMethodName().startsWith("List")) {
          continue;
        }
        boolean paged = s.getMethodDescriptor().getInputType().findFieldByName("limit") != null
            && s.getMethodDescriptor().getInputType().findFieldByName("after") != null
            && s.getMethodDescriptor().getOutputType().findFieldByName("next_after") != null;
        if (!paged && !UNPAGED.containsKey(md.getFullMethodName())) {
          unpaged.add(md.getFullMethodName());
        }
      }
    }
    assertEquals(List.of(), unpaged, "List RPCs that return everything at once");
  }

  @Test
  void policyPagesStartWithRootAndAddUpToEveryPolicy() {
    for (String name : List.of("alpha", "beta", "gamma")) {
      kw.policies.write(name, "{\"rules\":[{\"resource\":\"transit/keys/" + name
          + "\",\"capabilities\":[\"read\"]}]}");
    }
    PolicyServiceGrpc.PolicyServiceBlockingStub policies = PolicyServiceGrpc.newBlockingStub(kw.channel)
        .withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    BiFunction<Integer, String, Page> list = (limit, after) -> {
      ListPoliciesResponse r = policies.listPolicies(ListPoliciesRequest.newBuilder().setLimit(limit).setAfter(after)
          .build());
      return new Page(r.getNamesList(), r.getNextAfter());
    };
    for (int limit = 1; limit <= 4; limit++) {
      List<String> all = new ArrayList<>();
      readAll(list, limit, all);
      assertEquals(List.of("root", "alpha", "beta", "gamma"), all, "pages of " + limit);
    }
    assertEquals("limit", violatedField(() -> policies.listPolicies(ListPoliciesRequest.newBuilder()
        .setLimit(ListPages.MAX + 1).build())));
  }

  @Test
  void sshRolePagesAddUpToEveryRole() {
    for (String name : List.of("r1", "r2", "r3")) {
      ssh.writeSshRole(WriteSshRoleRequest.newBuilder().setRole(SshRole.newBuilder().setName(name)
          .setCertType(SshCertType.SSH_CERT_TYPE_USER).addAllowedPrincipals("alice")).build());
    }
    BiFunction<Integer, String, Page> list = (limit, after) -> {
      ListSshRolesResponse r = ssh.listSshRoles(ListSshRolesRequest.newBuilder().setLimit(limit).setAfter(after)
          .build());
      return new Page(r.getNamesList(), r.getNextAfter());
    };
    List<String> all = new ArrayList<>();
    readAll(list, 2, all);
    assertTrue(all.containsAll(List.of("r1", "r2", "r3")), all.toString());
    assertEquals(all.stream().sorted().toList(), all);
    assertEquals(List.of(), ssh.listSshRoles(ListSshRolesRequest.newBuilder().setAfter("zzz").build())
        .getNamesList());
  }

  @Test
  void pkiRolePagesAddUpToEveryRole() {
    List<String> names = List.of("pr-a", "pr-b", "pr-c", "pr-d", "pr-e");
    for (String name : names) {
      pki.writeRole(WriteRoleRequest.newBuilder().setName(name).setRole(PkiRole.newBuilder()
          .addAllowedDomains("example.com").setServerFlag(true)).build());
    }
    BiFunction<Integer, String, Page> list = (limit, after) -> {
      ListRolesResponse r = pki.listRoles(ListRolesRequest.newBuilder().setLimit(limit).setAfter(after).build());
      return new Page(r.getNamesList(), r.getNextAfter());
    };
    List<String> all = new ArrayList<>();
    List<Integer> sizes = readAll(list, 2, all);
    assertEquals(names, all.stream().filter(n -> n.startsWith("pr-")).toList());
    assertEquals(all.stream().sorted().toList(), all);
    assertTrue(sizes.size() >= 3 && sizes.stream().allMatch(n -> n <= 2), sizes.toString());
    assertEquals(all, pki.listRoles(ListRolesRequest.getDefaultInstance()).getNamesList());
    assertEquals(List.of("pr-d", "pr-e"), pki.listRoles(ListRolesRequest.newBuilder().setAfter("pr-c").build())
        .getNamesList().stream().filter(n -> n.startsWith("pr-")).toList());

    ListRolesResponse beyond = pki.listRoles(ListRolesRequest.newBuilder().setAfter("zzzz").build());
    assertEquals(0, beyond.getNamesCount());
    assertEquals("", beyond.getNextAfter());
    assertEquals("limit", violatedField(() -> pki.listRoles(ListRolesRequest.newBuilder()
        .setLimit(ListPages.MAX + 1).build())));
    assertEquals("limit", violatedField(() -> pki.listRoles(ListRolesRequest.newBuilder().setLimit(-1).build())));
    assertEquals("after", violatedField(() -> pki.listRoles(ListRolesRequest.newBuilder().setAfter("../x").build())));
  }

  @Test
  void pkiRevocationPagesAddUpToEveryRevocationOfTheIssuer() {
    String root = kw.pki.generateRoot("Paged Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty()).id();
    kw.pki.writeRole(Role.builder("rev-web").allowedDomains("example.com").allowSubdomains(true).serverFlag(true)
        .build());
    List<String> revoked = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      String serial = kw.pki.issue("rev-web", RequestedNames.commonName("r" + i + ".example.com"), Optional.empty(),
          Optional.of(root)).certificate().serialHex();
      kw.pki.revoke(serial, 1);
      revoked.add(serial);
    }
    BiFunction<Integer, String, Page> list = (limit, after) -> {
      ListRevokedResponse r = pki.listRevoked(ListRevokedRequest.newBuilder().setIssuerId(root).setLimit(limit)
          .setAfter(after).build());
      return new Page(r.getRevocationsList().stream().map(Revocation::getSerial).toList(), r.getNextAfter());
    };
    List<String> all = new ArrayList<>();
    assertEquals(List.of(3, 3, 1), readAll(list, 3, all));
    assertEquals(revoked.stream().sorted().toList(), all);
    // a page that ends exactly at the last serial says so with the next (empty) page, never with a missing one
    assertEquals(List.of(7, 0), readAll(list, 7, new ArrayList<>()));
    // no issuer_id: the default issuer (this root, the only one here), first page of the default size
    assertEquals(all, pki.listRevoked(ListRevokedRequest.getDefaultInstance()).getRevocationsList().stream()
        .map(Revocation::getSerial).toList());

    ListRevokedResponse beyond = pki.listRevoked(ListRevokedRequest.newBuilder().setIssuerId(root)
        .setAfter("f".repeat(64)).build());
    assertEquals(0, beyond.getRevocationsCount());
    assertEquals("", beyond.getNextAfter());
    assertEquals("limit", violatedField(() -> pki.listRevoked(ListRevokedRequest.newBuilder().setIssuerId(root)
        .setLimit(ListPages.MAX + 1).build())));
    assertEquals("after", violatedField(() -> pki.listRevoked(ListRevokedRequest.newBuilder().setIssuerId(root)
        .setAfter("../x").build())));
    assertEquals("after", violatedField(() -> pki.listRevoked(ListRevokedRequest.newBuilder().setIssuerId(root)
        .setAfter("DEADBEEF").build())), "upper-case: not a serial as a page lists it");
  }

  /** The field the INVALID_ARGUMENT's BadRequest names. */
  private static String violatedField(Executable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
    com.google.rpc.Status details = StatusProto.fromThrowable(e);
    assertNotNull(details, "no google.rpc.Status in the trailers");
    try {
      for (com.google.protobuf.Any d : details.getDetailsList()) {
        if (d.is(BadRequest.class)) {
          BadRequest bad = d.unpack(BadRequest.class);
          assertEquals(1, bad.getFieldViolationsCount(), bad.toString());
          return bad.getFieldViolations(0).getField();
        }
      }
    } catch (com.google.protobuf.InvalidProtocolBufferException x) {
      throw new AssertionError(x);
    }
    throw new AssertionError("no BadRequest in " + details);
  }
}
