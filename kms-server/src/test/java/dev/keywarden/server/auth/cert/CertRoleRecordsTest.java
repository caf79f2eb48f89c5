package dev.keywarden.server.auth.cert;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.storage.SqliteStorage;
import dev.keywarden.storage.Storage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertRoleRecordsTest {
  @TempDir
  Path dir;

  @Test
  void storedRolesWithUnknownFieldsAreReadAndChangesAreAnnounced() throws Exception {
    try (Storage storage = SqliteStorage.open(dir)) {
      storage.put(CertRoleRecords.PREFIX + "svc", ("{\"name\":\"svc\",\"trusted_issuer_ids\":[\"root-1\"],"
          + "\"policies\":[\"p\"],\"token_ttl_seconds\":600,\"added_in_a_later_version\":{\"x\":1}}")
          .getBytes(StandardCharsets.UTF_8));
      CertRoleRecords records = new CertRoleRecords(storage);
      AtomicInteger changes = new AtomicInteger();
      records.addChangeListener(changes::incrementAndGet);
      CertRole read = records.read("svc");
      assertEquals(List.of("root-1"), read.trustedIssuerIds());
      assertEquals(Duration.ofMinutes(10), read.tokenTtl());
      assertEquals(List.of(), read.allowedCommonNames());

      records.write(new CertRole("other", List.of("root-1"), List.of(), List.of("Billing.*"), List.of(), List.of(),
          List.of("p"), null));
      assertEquals(List.of("other", "svc"), records.list("", 10));
      assertEquals(List.of("billing.*"), new CertRoleRecords(storage).read("other").allowedCommonNames());
      records.delete("other");
      assertEquals(2, changes.get());
      assertEquals(KeywardenException.Kind.NOT_FOUND,
          assertThrows(KeywardenException.class, () -> records.delete("other")).kind());
    }
  }

  @Test
  void aRoleDeletedByAnotherWriterIsForgottenAndTheVerdictsWithIt() throws Exception {
    try (Storage storage = SqliteStorage.open(dir)) {
      CertRoleRecords here = new CertRoleRecords(storage);
      CertRoleRecords elsewhere = new CertRoleRecords(storage); // as another server sharing the store would
      AtomicInteger changes = new AtomicInteger();
      here.addChangeListener(changes::incrementAndGet);
      elsewhere.write(new CertRole("svc", List.of("root-1"), List.of(), List.of(), List.of(), List.of(),
          List.of("p"), null));
      assertEquals(List.of("p"), here.read("svc").policies()); // now cached here
      elsewhere.delete("svc");
      assertTrue(here.find("svc").isEmpty(), "a role deleted elsewhere is still cached here");
      assertTrue(changes.get() >= 1, "the verdicts were not told");
    }
  }

  @Test
  void aRoleMustTrustSomethingAndNameValidGlobs() {
    KeywardenException none = assertThrows(KeywardenException.class, () -> new CertRole("r", List.of(), List.of(),
        List.of(), List.of(), List.of(), List.of("p"), null));
    assertTrue(none.getMessage().contains("trusts no issuer"), none.getMessage());
    KeywardenException dns = assertThrows(KeywardenException.class, () -> new CertRole("r", List.of("i"), List.of(),
        List.of(), List.of("example.*"), List.of(), List.of("p"), null));
    assertTrue(dns.getMessage().contains("allowed_dns_sans"), dns.getMessage());
    KeywardenException uri = assertThrows(KeywardenException.class, () -> new CertRole("r", List.of("i"), List.of(),
        List.of(), List.of(), List.of("spiffe://x/a?b"), List.of("p"), null));
    assertTrue(uri.getMessage().contains("allowed_uri_sans"), uri.getMessage());
    KeywardenException ttl = assertThrows(KeywardenException.class, () -> new CertRole("r", List.of("i"), List.of(),
        List.of(), List.of(), List.of(), List.of("p"), Duration.ofHours(9000)));
    assertTrue(ttl.getMessage().contains("token_ttl"), ttl.getMessage());
  }
}
