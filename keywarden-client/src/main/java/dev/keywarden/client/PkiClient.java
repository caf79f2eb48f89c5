package dev.keywarden.client;

import com.google.protobuf.Timestamp;
import dev.keywarden.api.v1.PkiServiceGrpc.PkiServiceBlockingStub;
import dev.keywarden.api.v1.SignCsrRequest;
import dev.keywarden.api.v1.SignCsrResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/** PKI calls: certificates from the server's CA, under policy resource {@code pki/roles/NAME}. */
public final class PkiClient {
  private final KeywardenClient client;
  private final PkiServiceBlockingStub stub;

  PkiClient(KeywardenClient client, PkiServiceBlockingStub stub) {
    this.client = client;
    this.stub = stub;
  }

  /**
   * Signs a PKCS#10 CSR (PEM) under a role with the default issuer. {@code ttl} null means the role's ttl; it is capped
   * at the role's max_ttl and the issuer's expiry. A CSR the role does not allow fails INVALID_ARGUMENT naming the
   * rule. Not retried: a retry would issue a second certificate.
   */
  public SignedCertificate signCsr(String role, String csrPem, Duration ttl) {
    SignCsrRequest.Builder request = SignCsrRequest.newBuilder().setRole(Objects.requireNonNull(role, "role"))
        .setCsrPem(Objects.requireNonNull(csrPem, "csrPem"));
    if (ttl != null) {
      request.setTtl(com.google.protobuf.Duration.newBuilder().setSeconds(ttl.getSeconds()).setNanos(ttl.getNano()));
    }
    SignCsrRequest built = request.build();
    SignCsrResponse r = client.call(stub, false, s -> s.signCsr(built));
    return new SignedCertificate(r.getCertificatePem(), r.getChainPemList(), r.getSerial(), r.getIssuerId(),
        instant(r.getNotAfter()));
  }

  private static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }
}
