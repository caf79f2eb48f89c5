package dev.keywarden.server.gate;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import dev.keywarden.api.v1.*;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * A call that fails INVALID_ARGUMENT because of one field carries, beside the ErrorInfo, a google.rpc.BadRequest whose
 * field violation names that field as a proto field path, read here as any grpc-java client reads it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@SuppressWarnings("deprecation") // the deprecated string fields, to show how they clash with the enums
class FieldViolationsTest {
  @TempDir
  static Path dir;
  LocalKeywarden kw;
  TransitServiceGrpc.TransitServiceBlockingStub transit;
  PkiServiceGrpc.PkiServiceBlockingStub pki;
  SshServiceGrpc.SshServiceBlockingStub ssh;

  @BeforeAll
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
    transit = TransitServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    pki = PkiServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    ssh = SshServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    transit.createKey(CreateKeyRequest.newBuilder().setName("k").build());
    transit.createKey(CreateKeyRequest.newBuilder().setName("signer")
        .setKeyType(TransitKeyType.TRANSIT_KEY_TYPE_ECDSA_P256).build());
  }

  @AfterAll
  void stop() throws Exception {
    kw.close();
  }

  /** The field the BadRequest names; the ErrorInfo is there too, first. */
  private static String violatedField(Executable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
    com.google.rpc.Status details = StatusProto.fromThrowable(e);
    assertNotNull(details, "no google.rpc.Status in the trailers");
    assertEquals(2, details.getDetailsCount(), details.toString());
    try {
      assertEquals("INVALID_ARGUMENT", details.getDetails(0).unpack(ErrorInfo.class).getReason());
      BadRequest bad = details.getDetails(1).unpack(BadRequest.class);
      assertEquals(1, bad.getFieldViolationsCount(), bad.toString());
      assertEquals(e.getStatus().getDescription(), bad.getFieldViolations(0).getDescription());
      return bad.getFieldViolations(0).getField();
    } catch (com.google.protobuf.InvalidProtocolBufferException x) {
      throw new AssertionError(x);
    }
  }

  @Test
  void namesSizesAndBatchCountsNameTheirField() {
    assertEquals("name", violatedField(() -> transit.createKey(CreateKeyRequest.newBuilder().setName("bad name!")
        .build())));
    assertEquals("items", violatedField(() -> transit.encrypt(EncryptRequest.newBuilder().setName("k").build())));
    EncryptRequest.Builder tooMany = EncryptRequest.newBuilder().setName("k");
    for (int i = 0; i < 10_001; i++) {
      tooMany.addItems(EncryptItem.getDefaultInstance());
    }
    assertEquals("items", violatedField(() -> transit.encrypt(tooMany.build())));
    assertEquals("bits", violatedField(() -> transit.generateDataKey(GenerateDataKeyRequest.newBuilder().setName("k")
        .setBits(100).build())));
    assertEquals("base_url", violatedField(() -> pki.generateRoot(GenerateRootRequest.newBuilder()
        .setCommonName("root").setBaseUrl("https://" + "a".repeat(2000)).build())));
    assertEquals("role.allowed_principals[1]", violatedField(() -> ssh.writeSshRole(WriteSshRoleRequest.newBuilder()
        .setRole(SshRole.newBuilder().setName("ops").setCertType(SshCertType.SSH_CERT_TYPE_USER)
            .addAllowedPrincipals("alice").addAllowedPrincipals("b".repeat(2000))).build())));
    assertEquals("limit", violatedField(() -> pki.listCertificates(ListCertificatesRequest.newBuilder().setLimit(-1)
        .build())));
  }

  @Test
  void rolesTtlsAndEnumsNameTheirField() {
    assertEquals("role.ttl", violatedField(() -> pki.writeRole(WriteRoleRequest.newBuilder().setName("web")
        .setRole(PkiRole.newBuilder().setServerFlag(true).setTtl(Durations.fromSeconds(-1))).build())));
    assertEquals("role", violatedField(() -> pki.writeRole(WriteRoleRequest.newBuilder().setName("web").build())));
    assertEquals("role.name", violatedField(() -> pki.writeRole(WriteRoleRequest.newBuilder().setName("web")
        .setRole(PkiRole.newBuilder().setName("api").setServerFlag(true)).build())));
    assertEquals("name", violatedField(() -> pki.getRole(GetRoleRequest.newBuilder().setName("no/such").build())));
    assertEquals("role", violatedField(() -> pki.signCsr(SignCsrRequest.newBuilder().setRole("-x").setCsrPem("x")
        .build())));
    assertEquals("key_type", violatedField(() -> transit.createKey(CreateKeyRequest.newBuilder().setName("t")
        .setType("ed25519").setKeyType(TransitKeyType.TRANSIT_KEY_TYPE_HMAC).build())));
    assertEquals("type", violatedField(() -> transit.createKey(CreateKeyRequest.newBuilder().setName("t")
        .setType("aes128").build())));
    assertEquals("params.hash_algorithm", violatedField(() -> transit.sign(SignRequest.newBuilder().setName("signer")
        .addItems(SignItem.newBuilder().setInput(ByteString.copyFromUtf8("m")))
        .setParams(SignatureParams.newBuilder().setHash("sha2-384")
            .setHashAlgorithm(HashAlgorithm.HASH_ALGORITHM_SHA2_512)).build())));
    assertEquals("role.ttl", violatedField(() -> ssh.writeSshRole(WriteSshRoleRequest.newBuilder()
        .setRole(SshRole.newBuilder().setName("ops").setCertType(SshCertType.SSH_CERT_TYPE_USER)
            .setTtl(Durations.fromHours(2)).setMaxTtl(Durations.fromHours(1))).build())));
    assertEquals("role.allowed_domains", violatedField(() -> ssh.writeSshRole(WriteSshRoleRequest.newBuilder()
        .setRole(SshRole.newBuilder().setName("ops").setCertType(SshCertType.SSH_CERT_TYPE_USER)
            .addAllowedDomains("example.com")).build())));
    assertEquals("role.min_rsa_bits", violatedField(() -> pki.writeRole(WriteRoleRequest.newBuilder().setName("web")
        .setRole(PkiRole.newBuilder().setServerFlag(true).setMinRsaBits(1024)).build())));
    assertEquals("crl_reason", violatedField(() -> pki.revoke(RevokeRequest.newBuilder().setSerial("01").setReason(1)
        .setCrlReason(RevocationReason.REVOCATION_REASON_SUPERSEDED).build())));
    assertEquals("key_pair_type", violatedField(() -> ssh.createSshCa(CreateSshCaRequest.newBuilder().setName("ca")
        .setKeyPairTypeValue(99).build())));
  }

  @Test
  void aFailureNoFieldIsToBlameForCarriesNoBadRequest() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> transit.getKey(GetKeyRequest.newBuilder().setName("missing").build()));
    com.google.rpc.Status details = StatusProto.fromThrowable(e);
    assertEquals(1, details.getDetailsCount(), details.toString());
    assertTrue(details.getDetails(0).is(ErrorInfo.class));
  }

  @Test
  void enumFieldsAndTheirDeprecatedStringsAgreeInResponses() {
    GetKeyResponse k = transit.getKey(GetKeyRequest.newBuilder().setName("signer").build());
    assertEquals(TransitKeyType.TRANSIT_KEY_TYPE_ECDSA_P256, k.getKey().getKeyType());
    assertEquals("ecdsa-p256", k.getKey().getType());
    SignResponse s = transit.sign(SignRequest.newBuilder().setName("signer")
        .addItems(SignItem.newBuilder().setInput(ByteString.copyFromUtf8("m")))
        .setParams(SignatureParams.newBuilder().setHash("sha2-512")
            .setHashAlgorithm(HashAlgorithm.HASH_ALGORITHM_SHA2_512)
            .setEncoding(SignatureEncoding.SIGNATURE_ENCODING_JWS))
        .build());
    assertTrue(s.getResults(0).hasSignature(), s.toString());
    VerifyResponse v = transit.verify(VerifyRequest.newBuilder().setName("signer")
        .addItems(VerifyItem.newBuilder().setInput(ByteString.copyFromUtf8("m"))
            .setSignature(s.getResults(0).getSignature()))
        .setParams(SignatureParams.newBuilder().setHash("sha2-512").setSignatureEncoding("jws")).build());
    assertTrue(v.getResults(0).getValid(), "the enum and the string name the same hash and encoding: " + v);
    VerifyResponse wrong = transit.verify(VerifyRequest.newBuilder().setName("signer")
        .addItems(VerifyItem.newBuilder().setInput(ByteString.copyFromUtf8("m"))
            .setSignature(s.getResults(0).getSignature()))
        .setParams(SignatureParams.newBuilder().setHashAlgorithm(HashAlgorithm.HASH_ALGORITHM_SHA2_256)
            .setEncoding(SignatureEncoding.SIGNATURE_ENCODING_JWS)).build());
    assertFalse(wrong.getResults(0).hasError() || wrong.getResults(0).getValid(), "the enum is read: " + wrong);

    GenerateRootResponse root = pki.generateRoot(GenerateRootRequest.newBuilder().setCommonName("Root")
        .setKeyPairType(KeyPairType.KEY_PAIR_TYPE_EC_P384).build());
    assertEquals(KeyPairType.KEY_PAIR_TYPE_EC_P384, root.getIssuer().getKeyPairType());
    assertEquals("ec-p384", root.getIssuer().getKeyType());
  }
}
