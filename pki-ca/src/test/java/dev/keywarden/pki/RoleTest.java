package dev.keywarden.pki;

import static org.junit.jupiter.api.Assertions.*;

import dev.keywarden.encoding.DurationText;
import dev.keywarden.failure.KeywardenException;
import dev.keywarden.hsm.KeyType;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoleTest {

  private static String refusal(String json) {
    KeywardenException e = assertThrows(KeywardenException.class, () -> Role.fromJson(json));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    return e.getMessage();
  }

  private static void assertThat(String message, String how, String expected) {
    assertTrue(how.equals("startsWith") ? message.startsWith(expected) : message.contains(expected), message);
  }

  @Test
  void jsonRoundTripKeepsEveryField() {
    Role role = Role.builder("web").allowedDomains("Example.com", "*.svc.cluster.local").allowSubdomains(true)
        .allowBareDomains(true).allowGlobDomains(true).allowWildcard(true).allowLocalhost(true).allowIpSans(true)
        .allowedIpCidrs("10.0.0.0/8", "2001:db8::/32").allowedUriSans("spiffe://example.org/ns/*/sa/*")
        .serverFlag(true).clientFlag(true).keyType(KeyType.RSA_3072).csrKeyTypes(CsrKeyFamily.RSA, CsrKeyFamily.EC)
        .minRsaBits(3072).minEcBits(384).ttl(Duration.ofHours(1)).maxTtl(Duration.ofHours(72))
        .notBeforeDuration(Duration.ofMinutes(1)).organization("Keywarden").organizationalUnit("Platform")
        .country("DE").locality("Berlin").province("Berlin").noStore(true).build();
    String json = role.toJson();
    assertTrue(json.contains("\"allow_subdomains\":true"), json);
    assertTrue(json.contains("\"max_ttl\":\"72h\""), json);
    assertTrue(json.contains("\"key_type\":\"rsa-3072\""), json);
    assertEquals(role, Role.fromJson(json));
    assertEquals(List.of("example.com", "*.svc.cluster.local"), role.allowedDomains());
  }

  @Test
  void missingFieldsTakeStrictDefaults() {
    Role role = Role.fromJson("{\"name\":\"web\",\"server_flag\":true}");
    assertEquals(Duration.ofHours(24), role.ttl());
    assertEquals(Duration.ofHours(24), role.maxTtl());
    assertEquals(Duration.ofSeconds(30), role.notBeforeDuration());
    assertEquals(KeyType.EC_P256, role.keyType());
    assertEquals(2048, role.minRsaBits());
    assertFalse(role.allowSubdomains() || role.allowBareDomains() || role.allowLocalhost() || role.allowIpSans()
        || role.allowWildcard() || role.noStore());
    assertEquals(Duration.ofHours(1), Role.fromJson("{\"name\":\"a\",\"server_flag\":true,\"max_ttl\":3600}").ttl());
  }

  @Test
  void wrongFieldsAreNamed() {
    assertThat(refusal("{\"name\":\"web\",\"server_flag\":true,\"allowed_domain\":[\"x.com\"]}"), "startsWith", "the role: unknown field 'allowed_domain'");
    assertEquals("role 'web': ttl (48h) is above max_ttl (24h)",
        refusal("{\"name\":\"web\",\"server_flag\":true,\"ttl\":\"48h\",\"max_ttl\":\"24h\"}"));
    assertEquals("role 'web': allowed_domains: '*.example.com' is a glob but allow_glob_domains is off",
        refusal("{\"name\":\"web\",\"server_flag\":true,\"allowed_domains\":[\"*.example.com\"]}"));
    assertThat(refusal("{\"name\":\"web\",\"server_flag\":true,\"allow_ip_sans\":true,"
        + "\"allowed_ip_cidrs\":[\"10.1.0.0/8\"]}"), "contains", "did you mean 10.0.0.0/8?");
    assertThat(refusal("{\"name\":\"web\",\"server_flag\":true,\"min_rsa_bits\":1024}"), "contains", "min_rsa_bits");
    assertThat(refusal("{\"name\":\"web\",\"server_flag\":true,\"ttl\":\"1 day\"}"), "startsWith", "ttl: ");
    assertThat(refusal("{\"name\":\"web\",\"server_flag\":true,\"key_type\":\"dsa\"}"), "startsWith", "key_type: ");
    assertThat(refusal("{\"name\":\"web\"}"), "contains", "server_flag, client_flag");
    assertThat(refusal("{\"name\":\"web\",\"server_flag\":true,\"allowed_uri_sans\":[\"spiffe://x/a b\"]}"), "contains", "allowed_uri_sans");
    assertThat(refusal("{\"name\":\"web\",\"server_flag\":true,\"country\":[\"Germany\"]}"), "contains", "country");
    assertThat(refusal("{\"name\":\"web\",\"server_flag\":true,\"allow_glob_domains\":true,"
        + "\"allowed_domains\":[\"example.*\"]}"), "contains", "rightmost label");
    assertThat(refusal("{\"name\":\"../x\",\"server_flag\":true}"), "startsWith", "name: ");
  }

  @Test
  void durationTextReadsVaultStyleAndWritesItBack() {
    assertEquals(Duration.ofMinutes(90), DurationText.parse("ttl", "1h30m"));
    assertEquals(Duration.ofDays(7), DurationText.parse("ttl", "7d"));
    assertEquals(Duration.ofSeconds(30), DurationText.parse("ttl", "30"));
    assertEquals("1h30m", DurationText.format(Duration.ofMinutes(90)));
    assertThrows(KeywardenException.class, () -> DurationText.parse("ttl", "-5s"));
  }

  @Test
  void jsonWithoutNameIsTheRoleTheRequestNames() {
    Role role = Role.fromJson("{\"server_flag\": true, \"allowed_domains\": [\"example.com\"]}", "web");
    assertEquals("web", role.name());
    assertEquals(List.of("example.com"), role.allowedDomains());
    assertEquals("web", Role.fromJson("{\"name\": null, \"server_flag\": true}", "web").name());
    assertEquals("web", Role.fromJson("{\"name\": \"web\", \"server_flag\": true}", "web").name());
  }

  @Test
  void jsonNamingAnotherRoleIsRefusedNamingBoth() {
    KeywardenException e = assertThrows(KeywardenException.class,
        () -> Role.fromJson("{\"name\": \"api\", \"server_flag\": true}", "web"));
    assertEquals(KeywardenException.Kind.INVALID_ARGUMENT, e.kind());
    assertThat(e.getMessage(), "contains", "'web' differs from the \"name\" in the role JSON ('api')");
    assertThrows(KeywardenException.class, () -> Role.fromJson("{\"name\": 7, \"server_flag\": true}", "web"));
    assertThrows(KeywardenException.class, () -> Role.fromJson("[1]", "web"));
  }
}
