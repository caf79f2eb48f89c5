package dev.keywarden.server.grpc;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.util.Durations;
import dev.keywarden.api.v1.CsrKeyFamily;
import dev.keywarden.api.v1.GetRoleRequest;
import dev.keywarden.api.v1.GetRoleResponse;
import dev.keywarden.api.v1.KeyPairType;
import dev.keywarden.api.v1.PkiRole;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.WriteRoleRequest;
import dev.keywarden.api.v1.WriteRoleResponse;
import dev.keywarden.server.gate.LocalKeywarden;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WriteRole / GetRole over gRPC with the typed PkiRole and the deprecated role_json; a write needs create or update
 * on the role, whichever one read of the role says.
 */
@SuppressWarnings("deprecation") // role_json is what the 0.1 API's clients send
class PkiRoleApiTest {
  @TempDir
  Path dir;
  LocalKeywarden kw;
  PkiServiceGrpc.PkiServiceBlockingStub pki;

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
    pki = PkiServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  @Test
  void typedRoleWithoutNameIsStoredUnderTheRequestNameWithDefaultsInBothForms() {
    WriteRoleResponse w = pki.writeRole(WriteRoleRequest.newBuilder().setName("web").setRole(PkiRole.newBuilder()
        .addAllowedDomains("Example.com").setAllowSubdomains(true).setServerFlag(true)
        .setKeyType(KeyPairType.KEY_PAIR_TYPE_RSA_3072).addCsrKeyTypes(CsrKeyFamily.CSR_KEY_FAMILY_RSA)
        .setMaxTtl(Durations.fromHours(72)).addOu("Platform")).build());
    PkiRole stored = w.getRole();
    assertEquals("web", stored.getName());
    assertEquals(java.util.List.of("example.com"), stored.getAllowedDomainsList());
    assertEquals(KeyPairType.KEY_PAIR_TYPE_RSA_3072, stored.getKeyType());
    assertEquals(java.util.List.of(CsrKeyFamily.CSR_KEY_FAMILY_RSA), stored.getCsrKeyTypesList());
    assertEquals(Durations.fromHours(24), stored.getTtl(), "ttl defaults to 24h below max_ttl");
    assertEquals(Durations.fromSeconds(30), stored.getNotBeforeDuration());
    assertEquals(2048, stored.getMinRsaBits());
    assertEquals(java.util.List.of("Platform"), stored.getOuList());
    assertTrue(w.getRoleJson().contains("\"key_type\":\"rsa-3072\""), w.getRoleJson());
    assertTrue(w.getRoleJson().contains("\"max_ttl\":\"72h\""), w.getRoleJson());

    GetRoleResponse g = pki.getRole(GetRoleRequest.newBuilder().setName("web").build());
    assertEquals(stored, g.getRole());
    assertEquals(w.getRoleJson(), g.getRoleJson());
  }

  @Test
  void roleJsonWithoutNameIsAcceptedAndReadsBackTyped() {
    WriteRoleResponse w = pki.writeRole(WriteRoleRequest.newBuilder().setName("api")
        .setRoleJson("{\"client_flag\": true, \"allowed_domains\": [\"svc.internal\"], \"allow_subdomains\": true,"
            + " \"key_type\": \"ed25519\", \"ttl\": \"1h\"}").build());
    assertEquals("api", w.getRole().getName());
    assertTrue(w.getRole().getClientFlag());
    assertEquals(KeyPairType.KEY_PAIR_TYPE_ED25519, w.getRole().getKeyType());
    assertEquals(Durations.fromHours(1), w.getRole().getTtl());
    assertTrue(w.getRoleJson().contains("\"name\":\"api\""), w.getRoleJson());
  }

  @Test
  void bothFormsNeitherFormOrAnotherNameAreInvalidArgumentNamingTheFields() {
    assertRefused(WriteRoleRequest.newBuilder().setName("web").setRoleJson("{\"server_flag\": true}")
        .setRole(PkiRole.newBuilder().setServerFlag(true)).build(), "role and role_json are both set");
    assertRefused(WriteRoleRequest.newBuilder().setName("web").build(), "role is required");
    assertRefused(WriteRoleRequest.newBuilder().setName("web").setRole(PkiRole.newBuilder().setName("api")
        .setServerFlag(true)).build(), "role.name: 'api' differs from name ('web')");
    assertRefused(WriteRoleRequest.newBuilder().setName("web").setRoleJson("{\"name\": \"api\", \"server_flag\":"
        + " true}").build(), "differs");
    assertRefused(WriteRoleRequest.newBuilder().setName("web").setRole(PkiRole.newBuilder().setServerFlag(true)
        .setTtl(Durations.fromSeconds(-5))).build(), "role.ttl");
    assertRefused(WriteRoleRequest.newBuilder().setName("web").setRole(PkiRole.newBuilder().setServerFlag(true)
        .addCsrKeyTypesValue(99)).build(), "role.csr_key_types[0]");
    assertThrows(StatusRuntimeException.class, () -> pki.getRole(GetRoleRequest.newBuilder().setName("web").build()),
        "nothing refused was stored");
  }

  @Test
  void aRoleWriteNeedsCreateForANewRoleAndUpdateForAnExistingOne() {
    kw.policies.write("role-maker", "{\"rules\":[{\"resource\":\"pki/roles/new-*\",\"capabilities\":[\"create\"]}]}");
    kw.policies.write("role-editor", "{\"rules\":[{\"resource\":\"pki/roles/new-*\",\"capabilities\":[\"update\"]}]}");
    PkiServiceGrpc.PkiServiceBlockingStub maker = as("role-maker");
    PkiServiceGrpc.PkiServiceBlockingStub editor = as("role-editor");
    WriteRoleRequest write = WriteRoleRequest.newBuilder().setName("new-one").setRole(PkiRole.newBuilder()
        .addAllowedDomains("example.com").setServerFlag(true)).build();

    assertDenied(() -> editor.writeRole(write), "'create'");
    maker.writeRole(write);
    assertDenied(() -> maker.writeRole(write), "'update'");
    editor.writeRole(write.toBuilder().setRole(write.getRole().toBuilder().setClientFlag(true)).build());
    assertTrue(pki.getRole(GetRoleRequest.newBuilder().setName("new-one").build()).getRole().getClientFlag());
  }

  private PkiServiceGrpc.PkiServiceBlockingStub as(String policy) {
    String token = kw.tokens.create(java.util.List.of(policy), java.time.Duration.ofHours(1), policy).token();
    return PkiServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(token));
  }

  private static void assertDenied(org.junit.jupiter.api.function.Executable call, String expected) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.getStatus().toString());
    assertTrue(e.getStatus().getDescription().contains(expected), e.getStatus().getDescription());
  }

  private void assertRefused(WriteRoleRequest request, String expected) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> pki.writeRole(request));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
    assertTrue(e.getStatus().getDescription().contains(expected), e.getStatus().getDescription());
  }
}
