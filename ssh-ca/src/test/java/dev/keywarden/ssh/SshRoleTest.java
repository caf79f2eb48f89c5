package dev.keywarden.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SshRoleTest {

  @Test
  void defaultsGrantNothingAndPickOneHourForUsers() {
    SshRole r = SshRole.fromJson("{\"name\":\"r\",\"cert_type\":\"user\"}");
    assertEquals(Duration.ofHours(1), r.ttl());
    assertEquals(Duration.ofHours(1), r.maxTtl());
    assertEquals(Duration.ofSeconds(30), r.notBeforeDuration());
    assertEquals(2048, r.minRsaBits());
    assertEquals(KeyType.ED25519, r.keyType());
    assertEquals(SshRole.DEFAULT_KEY_ID_TEMPLATE, r.keyIdTemplate());
    assertTrue(r.allowedPrincipals().isEmpty() && r.allowedExtensions().isEmpty()
        && r.allowedCriticalOptions().isEmpty() && !r.allowAnyPrincipal() && !r.allowUserKeyIds() && !r.noStore());
    assertEquals(Duration.ofHours(24), SshRole.fromJson("{\"name\":\"h\",\"cert_type\":\"host\"}").ttl());
  }

  @Test
  void jsonRoundTripsToAnEqualRole() {
    SshRole r = SshRole.builder("dev", CertType.USER).allowedPrincipals("{{identity}}", "ops-*")
        .defaultPrincipals("{{identity}}").allowedExtensions("permit-pty").defaultExtensions("permit-pty")
        .defaultCriticalOptions(Map.of("source-address", "10.0.0.0/8")).allowedUserKeyTypes("ed25519")
        .maxTtl(Duration.ofHours(8)).keyType(KeyType.ED25519).build();
    assertEquals(r, SshRole.fromJson(r.toJson()));
    assertTrue(r.toJson().contains("\"max_ttl\":\"8h\""), r.toJson());
  }

  @Test
  void wrongFieldsAreRefusedNamingTheFieldAndTheRule() {
    refused("{\"name\":\"r\"}", "cert_type is required");
    refused("{\"name\":\"r\",\"cert_type\":\"admin\"}", "cert_type");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"ttl\":\"2h\",\"max_ttl\":\"1h\"}", "ttl (2h) is above max_ttl");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"min_rsa_bits\":1024}", "min_rsa_bits must be between 2048");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"allowed_user_key_types\":[\"dsa\"]}", "DSA is never allowed");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"allowed_extensions\":[\"permit-everything\"]}",
        "allowed_extensions: 'permit-everything' is not an extension");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"default_extensions\":{\"permit-pty\":\"\"}}",
        "default_extensions: 'permit-pty' is not in allowed_extensions");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"default_critical_options\":{\"source-address\":\"10.0.0.1/8\"}}",
        "host bits set");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"allowed_critical_options\":[\"no-pty\"]}",
        "'no-pty' is not a critical option");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"allowed_principals\":[\"{{email}}\"]}", "uses {{email}}");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"default_principals\":[\"a*\"]}", "a default must be a name");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"allowed_domains\":[\"example.com\"]}", "for host roles");
    refused("{\"name\":\"r\",\"cert_type\":\"host\",\"allowed_extensions\":[\"permit-pty\"]}",
        "no extensions or critical options for host certificates");
    refused("{\"name\":\"r\",\"cert_type\":\"host\",\"allowed_domains\":[\"*.example.com\"]}",
        "allow_glob_domains is off");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"min_rsa_bits\":4096,\"key_type\":\"rsa-3072\"}",
        "below min_rsa_bits");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"allowed_user_key_types\":[\"ecdsa\"]}",
        "ed25519 keys are not in allowed_user_key_types");
    refused("{\"name\":\"r\",\"cert_type\":\"user\",\"surprise\":1}", "surprise");
  }

  private static void refused(String json, String contains) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> SshRole.fromJson(json));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains(contains), e.getMessage());
  }

  @Test
  void serialsAreCanonicalUnsignedDecimalAndNeverZero() {
    assertEquals("18446744073709551615", SshEngine.canonicalSerial("18446744073709551615"));
    assertEquals("42", SshEngine.canonicalSerial("00042"));
    for (String bad : new String[] {"0", "18446744073709551616", "-1", "0x10", "", "1 2"}) {
      assertEquals(KeywardenException.Kind.INVALID_ARGUMENT,
          assertThrows(KeywardenException.class, () -> SshEngine.canonicalSerial(bad)).kind(), bad);
    }
  }
}
