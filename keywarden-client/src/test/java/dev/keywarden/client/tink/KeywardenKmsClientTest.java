package dev.keywarden.client.tink;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.KmsEnvelopeAead;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import dev.keywarden.client.FakeKeywarden;
import dev.keywarden.client.KeywardenClient;
import dev.keywarden.client.KeywardenClientException;
import io.grpc.Status;
import java.security.GeneralSecurityException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class KeywardenKmsClientTest {
  private FakeKeywarden server;
  private KeywardenClient client;
  private String uri;

  @BeforeEach
  void start() throws Exception {
    server = new FakeKeywarden();
    client = KeywardenClient.builder().address(server.address()).plaintext().token("kwt_t").build();
    uri = "keywarden://" + server.address() + "/transit/keys/orders";
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  @Test
  void supportsKeysOnItsClientsServerOrOnlyItsBoundKey() {
    KeywardenKmsClient kms = new KeywardenKmsClient(client);
    assertTrue(kms.doesSupport(uri));
    assertTrue(kms.doesSupport("keywarden://" + server.address() + "/transit/keys/other"));
    assertFalse(kms.doesSupport("keywarden://elsewhere:8400/transit/keys/orders"));
    assertFalse(kms.doesSupport("aws-kms://arn:aws:kms:eu-west-1:1:key/x"));
    assertFalse(kms.doesSupport("keywarden://" + server.address() + "/transit/keys/"));
    KeywardenKmsClient bound = kms.withKeyUri(uri);
    assertTrue(bound.doesSupport(uri));
    assertFalse(bound.doesSupport("keywarden://" + server.address() + "/transit/keys/other"));
    assertThrows(IllegalArgumentException.class, () -> kms.withKeyUri("keywarden://elsewhere:1/transit/keys/k"));
    assertEquals(bound, bound.withCredentials("/ignored"));
    assertEquals(bound, bound.withDefaultCredentials());
  }

  @Test
  void getAeadRefusesUnsupportedUris() throws Exception {
    KeywardenKmsClient bound = new KeywardenKmsClient(client).withKeyUri(uri);
    GeneralSecurityException other = assertThrows(GeneralSecurityException.class,
        () -> bound.getAead("keywarden://" + server.address() + "/transit/keys/other"));
    assertTrue(other.getMessage().contains("bound to"), other.getMessage());
    assertThrows(GeneralSecurityException.class, () -> bound.getAead("gcp-kms://projects/p"));
    bound.getAead(uri);
    assertTrue(server.calls.isEmpty(), "getAead makes no call");
  }

  @Test
  void theAeadSendsTheAssociatedDataAsTheContextAndKeepsTheCiphertextText() throws Exception {
    Aead aead = new KeywardenKmsClient(client).getAead(uri);
    byte[] ct = aead.encrypt("data key".getBytes(UTF_8), "row 7".getBytes(UTF_8));
    assertTrue(new String(ct, UTF_8).startsWith("kw:v1:"));
    assertArrayEquals("data key".getBytes(UTF_8), aead.decrypt(ct, "row 7".getBytes(UTF_8)));
    GeneralSecurityException wrongAd = assertThrows(GeneralSecurityException.class,
        () -> aead.decrypt(ct, "row 8".getBytes(UTF_8)));
    assertEquals(Status.Code.INVALID_ARGUMENT,
        assertInstanceOf(KeywardenClientException.class, wrongAd.getCause()).code());
    assertArrayEquals(new byte[] {5}, aead.decrypt(aead.encrypt(new byte[] {5}, null), new byte[0]));
    assertThrows(GeneralSecurityException.class, () -> aead.decrypt(new byte[] {(byte) 0xc3, (byte) 0xa9}, null));
  }

  @Test
  void aRefusedCallIsAGeneralSecurityExceptionCarryingTheClientException() throws Exception {
    Aead aead = new KeywardenKmsClient(client).getAead("keywarden://" + server.address() + "/transit/keys/forbidden");
    GeneralSecurityException e = assertThrows(GeneralSecurityException.class, () -> aead.encrypt(new byte[1], null));
    assertEquals(Status.Code.PERMISSION_DENIED,
        assertInstanceOf(KeywardenClientException.class, e.getCause()).code());
  }

  @Test
  void tinksEnvelopeWrapsItsDataKeyWithKeywarden() throws Exception {
    AeadConfig.register();
    Aead envelope = KmsEnvelopeAead.create(PredefinedAeadParameters.AES256_GCM,
        new KeywardenKmsClient(client).getAead(uri));
    byte[] ct = envelope.encrypt("invoice 42".getBytes(UTF_8), "tenant a".getBytes(UTF_8));
    assertEquals(1, server.count("Encrypt"));
    assertArrayEquals("invoice 42".getBytes(UTF_8), envelope.decrypt(ct, "tenant a".getBytes(UTF_8)));
    assertEquals(1, server.count("Decrypt"));
    assertThrows(GeneralSecurityException.class, () -> envelope.decrypt(ct, "tenant b".getBytes(UTF_8)));
  }
}
