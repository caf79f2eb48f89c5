package dev.keywarden.server.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.keywarden.api.v1.ListCertificatesRequest;
import dev.keywarden.api.v1.ListCertificatesResponse;
import dev.keywarden.api.v1.PkiServiceGrpc;
import dev.keywarden.hsm.KeyType;
import dev.keywarden.pki.RequestedNames;
import dev.keywarden.pki.Role;
import dev.keywarden.server.gate.LocalKeywarden;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ListCertificates answers in bounded pages that add up to every stored serial. */
class PkiListPagesTest {
  @TempDir
  Path dir;

  @Test
  void pagesAddUpToEveryCertificateAndLimitsAreChecked() throws Exception {
    try (LocalKeywarden kw = new LocalKeywarden(dir, 1L << 30)) {
      kw.pki.generateRoot("Root", KeyType.EC_P256, Duration.ofDays(1), Optional.empty());
      kw.pki.writeRole(Role.fromJson("{\"name\":\"web\",\"allowed_domains\":[\"example.com\"],"
          + "\"allow_subdomains\":true,\"server_flag\":true,\"ttl\":\"1h\",\"max_ttl\":\"1h\"}"));
      for (int i = 0; i < 7; i++) {
        String name = "h" + i + ".example.com";
        kw.pki.issue("web", new RequestedNames(Optional.of(name), List.of(name), List.of(), List.of()),
            Optional.empty(), Optional.empty());
      }
      var pki = PkiServiceGrpc.newBlockingStub(kw.channel).withCallCredentials(LocalKeywarden.bearer(kw.rootToken));
      List<String> all = new ArrayList<>();
      List<Integer> sizes = new ArrayList<>();
      String after = "";
      do {
        ListCertificatesResponse page = pki.listCertificates(ListCertificatesRequest.newBuilder().setLimit(3)
            .setAfter(after).build());
        sizes.add(page.getSerialsCount());
        all.addAll(page.getSerialsList());
        after = page.getNextAfter();
      } while (!after.isEmpty());
      assertEquals(List.of(3, 3, 1), sizes);
      assertEquals(kw.pki.listCertificates(), all);
      assertEquals(7, pki.listCertificates(ListCertificatesRequest.getDefaultInstance()).getSerialsCount());
      assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(StatusRuntimeException.class,
          () -> pki.listCertificates(ListCertificatesRequest.newBuilder().setLimit(10_001).build())).getStatus()
          .getCode());
      assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(StatusRuntimeException.class,
          () -> pki.listCertificates(ListCertificatesRequest.newBuilder().setAfter("../x").build())).getStatus()
          .getCode());
    }
  }
}
