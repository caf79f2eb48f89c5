package dev.keywarden.server.grpc;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.api.v1.GenerateRootRequest;
import dev.keywarden.api.v1.IssueRequest;
import dev.keywarden.api.v1.IssueResponse;
import dev.keywarden.api.v1.PkiRole;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.api.v1.WriteRoleRequest;
import dev.keywarden.server.gate.LocalKeywarden;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Over gRPC, an X509-SVID carries exactly one URI SAN: its SPIFFE ID. */
class PkiSvidTest {
  @TempDir
  Path dir;
  LocalKeywarden kw;
  PkiServiceGrpc.PkiServiceBlockingStub pki;

  @BeforeEach
  void start() throws Exception {
    kw = new LocalKeywarden(dir, 1L << 30);
    pki = PkiServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
    pki.generateRoot(GenerateRootRequest.newBuilder().setCommonName("Test Root").build());
    pki.writeRole(WriteRoleRequest.newBuilder().setName("workload").setRole(PkiRole.newBuilder().setClientFlag(true)
        .addAllowedUriSans("spiffe://example.org/ns/*/sa/*")).build());
  }

  @AfterEach
  void stop() throws Exception {
    kw.close();
  }

  @Test
  void issueWithTwoSpiffeIdsIsInvalidArgumentAndWithOneGivesACertificateWithOneUriSan() throws Exception {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> pki.issue(IssueRequest.newBuilder()
        .setRole("workload").addUriSans("spiffe://example.org/ns/prod/sa/api")
        .addUriSans("spiffe://example.org/ns/prod/sa/admin").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("an X509-SVID carries exactly one SPIFFE ID"),
        e.getStatus().getDescription());

    IssueResponse svid = pki.issue(IssueRequest.newBuilder().setRole("workload")
        .addUriSans("spiffe://example.org/ns/prod/sa/api").build());
    X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
        new ByteArrayInputStream(svid.getCertificatePem().getBytes(StandardCharsets.US_ASCII)));
    assertEquals(List.of(List.of(6, "spiffe://example.org/ns/prod/sa/api")),
        cert.getSubjectAlternativeNames().stream().toList());
  }
}
