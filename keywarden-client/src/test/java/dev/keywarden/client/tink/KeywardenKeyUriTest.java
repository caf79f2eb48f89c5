package dev.keywarden.client.tink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KeywardenKeyUriTest {
  @Test
  void parsesHostPortAndKeyName() {
    assertEquals(new KeywardenKeyUri("kms.internal:8400", "orders"),
        KeywardenKeyUri.parse("keywarden://KMS.internal:8400/transit/keys/orders"));
    assertEquals(new KeywardenKeyUri("127.0.0.1:1", "a.b_c-D9"),
        KeywardenKeyUri.parse("KEYWARDEN://127.0.0.1:1/transit/keys/a.b_c-D9"));
    assertEquals(new KeywardenKeyUri("[::1]:65535", "k"), KeywardenKeyUri.parse("keywarden://[::1]:65535/transit/keys/k"));
    assertEquals("keywarden://kms:8400/transit/keys/orders", KeywardenKeyUri.of("kms:8400", "orders").toString());
  }

  @Test
  void refusesWhatIsNotAKeyUriSayingWhy() {
    refused("aws-kms://arn:aws:kms:eu-west-1:1:key/x", "does not start with keywarden://");
    refused("keywarden://kms:8400", "no path");
    refused("keywarden://kms/transit/keys/orders", "no port");
    refused("keywarden://[::1]/transit/keys/orders", "no port");
    refused("keywarden://kms:0/transit/keys/orders", "port");
    refused("keywarden://kms:70000/transit/keys/orders", "port");
    refused("keywarden://kms:84a/transit/keys/orders", "port");
    refused("keywarden://user@kms:8400/transit/keys/orders", "host");
    refused("keywarden://kms:8400/pki/roles/web", "path");
    refused("keywarden://kms:8400/transit/keys/", "key name");
    refused("keywarden://kms:8400/transit/keys/orders/", "key name");
    refused("keywarden://kms:8400/transit/keys/a/b", "key name");
    refused("keywarden://kms:8400/transit/keys/..", "key name");
    refused("keywarden://kms:8400/transit/keys/orders?x=1", "key name");
    refused("keywarden://kms:8400/transit/keys/" + "k".repeat(129), "key name");
    refused(null, "does not start");
  }

  private static void refused(String uri, String why) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KeywardenKeyUri.parse(uri));
    assertTrue(e.getMessage().contains(why), e.getMessage());
  }
}
